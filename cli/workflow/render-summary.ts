import { displayName, displayText } from '../../core/redis/key-name.js';
import type { RerouteCounters } from '../../core/reroute/reroute-counters.js';
import { topUnmappedClasses } from '../../core/reroute/reroute-counters.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import type { TransferCounters } from '../../core/transfer/transfer-counters.js';

const n = (value: number) => value.toLocaleString('en-US');

/** The human view of a run's summary: one row per set and queue, totals, and what needs a look. */
export function renderSummary(summary: RunSummary, endpoint: string): string {
  const reroute = summary.mode === 'reroute';
  const title = `${reroute ? 'Re-route' : 'Transfer'} ${endpoint} — run ${summary.runId}${summary.dryRun ? ' — DRY RUN: nothing was written; "moved" means "would move"' : ''}`;
  const columns = reroute
    ? (['scanned', 'moved', 'alreadyRouted', 'unmapped', 'unparsable', 'vanished', 'conflicts', 'quarantined'] as const)
    : (['claimed', 'written', 'duplicates', 'rerouted', 'unmapped', 'unparsable', 'conflicts'] as const);
  const headers = reroute ? ['scanned', 'moved', 'already', 'unmapped', 'unparsable', 'vanished', 'conflicts', 'quarantined'] : ['claimed', 'written', 'duplicate', 'rerouted', 'unmapped', 'unparsable', 'conflicts'];
  const rows: [string, Record<string, number>][] = [
    ...Object.entries(summary.sets).map(([name, c]) => [name, c as unknown as Record<string, number>] as [string, Record<string, number>]),
    ...Object.entries(summary.queues).map(([name, c]) => [`queue:${displayName(name)}`, c as unknown as Record<string, number>] as [string, Record<string, number>]),
  ];
  // GitLab queue names reach 100 characters: cap the column, keeping both ends of a long name.
  const shown = (name: string) => (name.length <= 56 ? name : `${name.slice(0, 30)}…${name.slice(-25)}`);
  const width = Math.max(12, ...rows.map(([name]) => shown(name).length));
  const line = (name: string, values: string[]) => `${shown(name).padEnd(width)}${values.map((v, i) => v.padStart(Math.max(headers[i]!.length, 9) + 2)).join('')}`;
  const out = [title, '', line('', headers)];
  for (const [name, c] of rows) out.push(line(name, columns.map((k) => n(c[k] ?? 0))));
  // A run lists the first sets and queues by name (its state stays small); the total counts all.
  if ((summary.unlisted ?? 0) > 0) out.push(`… and ${n(summary.unlisted!)} more sets and queues, counted in the total`);
  out.push(line('total', columns.map((k) => n((summary.totals as unknown as Record<string, number>)[k] ?? 0))));

  const to = (reroute ? (summary.totals as RerouteCounters).movedTo : (summary.totals as TransferCounters).writtenTo) ?? {};
  const destinations = Object.entries(to).sort((a, b) => b[1] - a[1]);
  if (destinations.length > 0) out.push('', `${reroute ? 'Moved to' : 'Written to'}: ${destinations.map(([q, c]) => `${displayName(q)} ${n(c)}`).join(' · ')}`);
  if (reroute) {
    const totals = summary.totals as RerouteCounters;
    const classes = (tally: 'unmappedClasses' | 'quarantinedClasses') => topUnmappedClasses(totals, 10, tally).map(([cls, c]) => `${cls} ${n(c)}`).join(' · ');
    const queueRows = (pick: (c: RerouteCounters) => number) =>
      Object.entries(summary.queues)
        .filter(([, c]) => (pick(c as RerouteCounters) ?? 0) > 0)
        .map(([q, c]) => `queue:${q} ${n(pick(c as RerouteCounters))}`)
        .join(' · ');
    const would = summary.dryRun ? 'Would be quarantined' : 'Quarantined';
    // Say what happened to each kind: left where it was, or really moved to a quarantine list.
    if (classes('unmappedClasses')) out.push(`Left in place, no destination for their class: ${classes('unmappedClasses')}`);
    if (classes('quarantinedClasses')) out.push(`${would}, no destination for their class: ${classes('quarantinedClasses')}`);
    if ((totals.quarantined ?? 0) > 0) out.push(`${would} to sidekiq-migrate:quarantine:<queue>, by queue: ${queueRows((c) => c.quarantined)}`);
    if ((totals.keptOnLiveQueues ?? 0) > 0) out.push(`Left in place on live queues (still routed to or fetched; never quarantined): ${queueRows((c) => c.keptOnLiveQueues)}`);
    const samples = [...totals.samples.unmapped, ...totals.samples.unparsable];
    if (samples.length > 0) out.push(`Samples: ${samples.map((s) => `${s.className ?? '?'} (jid ${s.jid ?? '?'}, ${s.reason})`).join('; ')}`);
    if ((totals.arrived ?? 0) > 0) {
      out.push(`${n(totals.arrived)} job(s) arrived on retired queues during the run (${queueRows((c) => c.arrived)}): not moved by this run; run again or see drain-check.`);
    }
  } else {
    if (summary.resumed && summary.resumed.resumed > 0) out.push(`Finished ${n(summary.resumed.resumed)} job(s) left in flight by an interrupted run.`);
    const totals = summary.totals as TransferCounters;
    if ((totals.conflicts ?? 0) > 0) {
      const where = [...Object.entries(summary.sets)].filter(([, c]) => ((c as TransferCounters).conflicts ?? 0) > 0).map(([set, c]) => `${set} ${n((c as TransferCounters).conflicts)}`);
      const named = (totals.conflictSamples ?? []).map((s) => `${s.className ?? '?'} (jid ${s.jid ?? '?'})`).join('; ');
      out.push(`Left on the source, their bytes already in the target set (a sorted set would merge them): ${where.length > 0 ? where.join(' · ') : n(totals.conflicts)}${named ? `: ${named}` : ''}`);
    }
    const stillQueued = Object.entries(summary.queues).filter(([, c]) => ((c as TransferCounters).leftOnSource ?? 0) > 0);
    if (stillQueued.length > 0) {
      const total = Math.max(totals.leftOnSource ?? 0, stillQueued.reduce((sum, [, c]) => sum + (c as TransferCounters).leftOnSource, 0));
      out.push(`${n(total)} job(s) still on source queues when their transfer ended, pushed there during the run (${stillQueued.map(([q, c]) => `queue:${displayName(q)} ${n((c as TransferCounters).leftOnSource)}`).join(' · ')}): run move again or see drain-check.`);
    }
    const left = summary.leftOnSource ?? [];
    if (left.length > 0) {
      const more = (summary.leftOnSourceLists ?? left.length) - left.length;
      out.push(`Not transferred, left on the source: ${left.map((l) => `${displayName(l.key)} ${n(l.size)}`).join(' · ')}${more > 0 ? ` and ${n(more)} more lists` : ''}`);
      out.push('The source is not drained while these exist: put their jobs back on a queue and move again, or delete them by hand (drain-check counts them).');
    }
  }
  for (const f of summary.failures) out.push(`FAILED ${f.kind} ${displayName(f.name)}: ${displayText(f.error)}`);
  const failed = summary.counts?.failed ?? 0;
  if (failed > summary.failures.length) out.push(`FAILED ${n(failed - summary.failures.length)} more sets and queues (the first ${summary.failures.length} are named above)`);
  for (const c of summary.continuedIn) out.push(`Still continuing: ${c.kind} ${c.name} in ${c.execution}`);
  const arrived = reroute ? ((summary.totals as RerouteCounters).arrived ?? 0) : 0;
  // From the totals: the summary lists the first sets and queues only.
  const stillOnSource = reroute ? 0 : ((summary.totals as TransferCounters).leftOnSource ?? 0);
  const complete =
    arrived > 0
      ? 'Complete: every job that was on its queue when the run started, and could be moved, was moved.'
      : stillOnSource > 0
        ? `Done, but jobs remain on the source queues (${n(stillOnSource)}, above): run move again.`
        : summary.nothingThere
          ? `Complete: nothing was there to move (no Sidekiq data on ${endpoint}).`
          : 'Complete: everything that could be moved was moved.';
  out.push('', summary.complete ? complete : 'Not complete: run the same command again to resume.');
  return `${out.join('\n')}\n`;
}
