import { timeSpan } from '../../core/drain/time-span.js';
import { leftInPlace } from '../../core/workflow/left-in-place.js';
import { SIDEKIQ_DEAD_MAX_JOBS } from '../../core/workflow/dead-set-cap.js';
import { displayName, displayText, printable } from '../../core/redis/key-name.js';
import type { RerouteCounters } from '../../core/reroute/reroute-counters.js';
import { OTHER_QUEUES, topUnmappedClasses } from '../../core/reroute/reroute-counters.js';
import { DRY_RUN_REWRITES_KEPT } from '../../core/reroute/set-page.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { OTHER_CLASSES, type TransferCounters } from '../../core/transfer/transfer-counters.js';
import { count as n, shorten, wrap } from './fit.js';
import { renderClassSummary } from './render-class-summary.js';
import { otherPrefixLines } from './other-prefixes-words.js';
import { LEFT_QUEUES_SHOWN, setLeftoversLine } from './set-leftovers-words.js';
import { arrivedClause, countsCutShort, heldByLiveWorkers, jobsLeftBehind, leftoverLooksCutShort, quarantinedBefore, runAgain, runningInNoList, unknownLeftBehind, unmatchedRenames, unreachedClause } from '../../core/workflow/left-behind.js';
import { RUNNING_PROCESSES_READ } from '../../core/workflow/held-by-workers.js';
import { notHeardFromReason } from '../../core/drain/judge-drain.js';
import { SILENT_BEATS } from '../../core/drain/live-processes.js';
import { LOCAL_STATE_MACHINE_NAME } from '../../infra/local/local-state-machine-name.js';

/** Largest sets and queues a summary lists without --verbose. */
export const LARGEST_SHOWN = 10;
/** Names per line of "by queue" details (quarantined, left in place, arrived…) without --verbose. */
const NAMED_SHOWN = 10;

export interface SummaryView {
  /** Columns to fit (80 when unknown). */
  readonly width?: number;
  /**
   * Wrap sentences to `width` (a terminal). In a pipe each fact stays on one line, for grep and logs;
   * their lists are bounded either way.
   */
  readonly wrap?: boolean;
  /** Every set and queue, not only the largest. */
  readonly verbose?: boolean;
  /** Every item's counters as the CLI saw them (a local run): listed instead of the summary's first ones. */
  readonly items?: readonly { readonly kind: 'set' | 'queue'; readonly name: string; readonly counters: RerouteCounters | TransferCounters }[];
  /**
   * How to finish a run that is not complete, after "Not complete: " (default: run the same command
   * again). A deployed run is resumed with `start --resume`: its execution name is taken.
   */
  readonly again?: string;
  /** How to carry jobs pushed to the source during a transfer (default: run move again); a deployed one starts another execution. */
  readonly moveAgain?: string;
  /**
   * A rollback: its `unmapped` jobs are jobs of classes the rolled-back run moved that it cannot
   * put back (the samples say why), not jobs without a destination for their class.
   */
  readonly rollback?: boolean;
  /**
   * A dry run whose items named fewer destinations than a run's would, as it carried a large
   * routing in every state (a local run knows it from its plan; unknown for a deployed one).
   */
  readonly dryRunNamesFewer?: boolean;
  /** sidekiq-cron definitions a carrying or rewriting run left unread (cron-notice.ts cronLeftClause): never "Complete" over them. */
  readonly cronLeft?: string;
  /**
   * The run resumed one whose process died (run, move, rollback) or an execution that ended
   * (`start --resume`, watched): its counts are this command's. What the run moved before is where
   * it put it, in no count here (said, so that a short count is not taken for jobs missing).
   */
  readonly resumedRun?: boolean;
  /** A transfer's source as its lines name it (`endpoint` names both ends): where "no Sidekiq data" was. */
  readonly source?: string;
  /** Each Redis's `maxmemory-policy`, as the plan read them: a transfer's dry run says when a run would be refused for one. */
  readonly memoryPolicies?: { readonly source: string | null; readonly target?: string | null };
}

type Row = readonly [label: string, counters: Record<string, number>];
const asRecord = (c: unknown) => c as Record<string, number>;

/**
 * The human view of a run's summary, fitting `width` columns whatever the number of sets and
 * queues: totals by kind and by destination, what needs a look, and the largest items (every item
 * with `verbose`). Numbers only, never jobs.
 */
export function renderSummary(summary: RunSummary, endpoint: string, view: SummaryView = {}): string {
  const width = view.width ?? 80;
  const reroute = summary.mode === 'reroute';
  const out: string[] = [];
  const say = (line: string) => out.push(...(view.wrap ? wrap(line, width) : [line]));
  say(`${reroute ? 'Re-route' : 'Transfer'} ${endpoint} — run ${summary.runId}${summary.dryRun ? ' — DRY RUN: nothing was written; "moved" means "would move"' : ''}`);
  if (view.resumedRun) {
    say(
      // A rollback's: what it put back (audit-truth2; "the run" read as the run it rolls back).
      `Resumed: the counts below are this command's only. What ${reroute && isRollback(summary, view) ? 'this rollback put back' : `the run ${reroute ? 'moved' : 'wrote'}`} before it was resumed is where it put it and is not counted here; drain-check shows what is left.`,
    );
  }

  const core = reroute ? (['scanned', 'moved', 'alreadyRouted'] as const) : (['claimed', 'written', 'duplicates'] as const);
  const optional = reroute ? (['unmapped', 'unparsable', 'vanished', 'conflicts', 'quarantined'] as const) : (['rerouted', 'unmapped', 'unparsable', 'conflicts'] as const);
  // A transfer's `duplicates` are jobs its ledger knew as written (an attempt whose acknowledge
  // failed, or whose answer was lost, wrote them): the run's own earlier write, never the user's.
  const header: Record<string, string> = { alreadyRouted: 'already', duplicates: 'written before' };
  const totals = asRecord(summary.totals);
  // Columns that are zero for the whole run say nothing: only the ones with something to count.
  let columns: string[] = [...core, ...optional.filter((k) => (totals[k] ?? 0) > 0)];

  // By kind: the sets (always listed: they come first) and the queues (the rest of the totals, but
  // for what a transfer's plan finished of interrupted runs, counted in the totals only).
  const setRows: Row[] = Object.entries(summary.sets).map(([name, c]) => [name, asRecord(c)]);
  const setSum: Record<string, number> = {};
  for (const [, c] of setRows) for (const k of [...core, ...optional]) setSum[k] = (setSum[k] ?? 0) + (c[k] ?? 0);
  const queueSum: Record<string, number> = {};
  const resumed = asRecord(summary.resumed ?? {});
  for (const k of [...core, ...optional]) queueSum[k] = Math.max(0, (totals[k] ?? 0) - (setSum[k] ?? 0) - (resumed[k] ?? 0));
  const queueCount = Object.keys(summary.queues).length + (summary.unlisted ?? 0);

  // Items: every one seen (a local run), else the ones the summary lists.
  // The summary's queues that were no item (jobs it found on a retired queue that had none) count
  // with the items, as they do in the row of the queues.
  const seen = new Set((view.items ?? []).filter((i) => i.kind === 'queue').map((i) => i.name));
  const all: Row[] = view.items
    ? [
        ...view.items.map((i) => [i.kind === 'queue' ? `queue:${displayName(i.name)}` : i.name, asRecord(i.counters)] as Row),
        ...Object.entries(summary.queues)
          .filter(([name]) => !seen.has(name))
          .map(([name, c]) => [`queue:${displayName(name)}`, asRecord(c)] as Row),
      ]
    : [...setRows, ...Object.entries(summary.queues).map(([name, c]) => [`queue:${displayName(name)}`, asRecord(c)] as Row)];
  const itemCount = view.items ? all.length : all.length + (summary.unlisted ?? 0);
  const [seenKey, movedKey] = core;
  const largest = [...all].sort((a, b) => (b[1][movedKey] ?? 0) - (a[1][movedKey] ?? 0) || (b[1][seenKey] ?? 0) - (a[1][seenKey] ?? 0) || (a[0] < b[0] ? -1 : 1));
  const shown = view.verbose ? largest : largest.slice(0, LARGEST_SHOWN);

  const kinds: Row[] = [
    [`sets (${n(setRows.length)})`, setSum],
    [`queues (${n(queueCount)})`, queueSum],
    ['total', totals],
  ];
  const cell = (c: Record<string, number>, k: string) => n(c[k] ?? 0);
  const widthOf = (k: string, rows: readonly Row[]) => Math.max((header[k] ?? k).length, ...rows.map(([, c]) => cell(c, k).length)) + 2;
  const table = [...kinds, ...shown];
  let numbers = columns.reduce((a, k) => a + widthOf(k, table), 0);
  // Fit: drop optional columns from the right (the lines below name what they count) before names get too short.
  while (numbers + 14 > width && columns.length > core.length) {
    columns = columns.slice(0, -1);
    numbers = columns.reduce((a, k) => a + widthOf(k, table), 0);
  }
  const nameWidth = Math.max(12, Math.min(width - numbers, Math.max(...table.map(([label]) => label.length))));
  const widths = columns.map((k) => widthOf(k, table));
  const row = (label: string, values: string[]) => `${shorten(label, nameWidth).padEnd(nameWidth)}${values.map((v, i) => v.padStart(widths[i]!)).join('')}`;
  const headings = row('', columns.map((k) => header[k] ?? k));
  out.push('', headings);
  for (const [label, c] of kinds) out.push(row(label, columns.map((k) => cell(c, k))));

  const to = (reroute ? (summary.totals as RerouteCounters).movedTo : (summary.totals as TransferCounters).writtenTo) ?? {};
  // Past the destinations counters name, the rest are one count: of one queue or more, never a queue's.
  const unnamed = to[OTHER_QUEUES] ?? 0;
  const destinations = Object.entries(to).filter(([name]) => name !== OTHER_QUEUES).sort((a, b) => b[1] - a[1]);
  if (destinations.length > 0 || unnamed > 0) {
    const named = view.verbose ? destinations : destinations.slice(0, NAMED_SHOWN);
    const more = destinations.length - named.length;
    out.push('');
    // A transfer writes to sets too (a set entry keeps its set): count them apart from the queues.
    const setsWritten = reroute ? 0 : destinations.filter(([name]) => name in summary.sets).length;
    const kinds = [setsWritten > 0 ? `${n(setsWritten)} set${setsWritten === 1 ? '' : 's'}` : '', destinations.length > setsWritten ? `${n(destinations.length - setsWritten)} queue${destinations.length - setsWritten === 1 ? '' : 's'}` : '']
      .filter((k) => k !== '')
      .join(', ');
    const counted = destinations.length > 1 || unnamed > 0 ? ` (${unnamed > 0 ? `at least ${kindsWithOneMore(setsWritten, destinations.length)}` : kinds})` : '';
    const rest = unnamed > 0 ? `${named.length > 0 ? '; ' : ''}${n(unnamed)} job(s) to queues the summary does not name` : '';
    say(`${reroute ? 'Moved to' : 'Written to'}${counted}: ${named.map(([q, c]) => `${displayName(q)} ${n(c)}`).join(' · ')}${more > 0 ? ` · … and ${n(more)} more (--verbose)` : ''}${rest}`);
    if (unnamed > 0) {
      const fewer = summary.dryRun && view.dryRunNamesFewer !== false ? ', and fewer in a dry run that carries a large routing in every state (it stores nothing): the same run without --dry-run names more' : '';
      say(`${OTHER_QUEUES}: ${n(unnamed)} job(s) ${reroute ? 'moved' : 'written'} to queues not named one by one: each set or queue's counts travel in the state machine's states (256 KiB each), which name only so many destinations${fewer}.`);
    }
  }

  // A selective transfer: what it examined and took, by class (bounded without --verbose).
  const byClass = reroute ? [] : renderClassSummary(summary.totals as TransferCounters, { width, verbose: view.verbose ?? false, dryRun: summary.dryRun });
  if (byClass.length > 0) out.push('', ...byClass);

  out.push('', `${view.verbose ? 'Every set and queue' : `Largest sets and queues (${n(shown.length)} of ${n(itemCount)})`}, by ${header[movedKey] ?? movedKey}:`, headings);
  for (const [label, c] of shown) out.push(row(label, columns.map((k) => cell(c, k))));
  const notShown = itemCount - shown.length;
  if (notShown > 0) out.push(view.verbose ? `… and ${n(notShown)} more, counted in the totals (a summary names the first ${n(shown.length)})` : `… and ${n(notShown)} more (--verbose)`);

  // What needs a look: bounded lists, wrapped to the width.
  const attention: string[] = [];
  // From every set and queue this process saw (a local run), else the ones the summary lists (its
  // first 50): the jobs of those it does not list are counted, never left out unsaid.
  const byQueue = (pick: (c: Record<string, number>) => number, withSets = false) => {
    // The summary's own counts first: its summary step adds what arrived after an item ended
    // (`withSets`: in a set after its pass ended too, summarize-step.ts routedArrivalsInSets).
    const rows: Row[] = [
      ...(withSets ? Object.entries(summary.sets).map(([set, c]) => [set, asRecord(c)] as Row) : []),
      ...Object.entries(summary.queues).map(([q, c]) => [`queue:${displayName(q)}`, asRecord(c)] as Row),
      ...(view.items ?? []).filter((i) => i.kind === 'queue' && !(i.name in summary.queues)).map((i) => [`queue:${displayName(i.name)}`, asRecord(i.counters)] as Row),
    ];
    const hits = rows
      .map(([label, c]) => [label, pick(c) ?? 0] as const)
      .filter(([, v]) => v > 0)
      .sort((a, b) => b[1] - a[1]);
    const named = view.verbose ? hits : hits.slice(0, NAMED_SHOWN);
    const inTotals = pick(totals) ?? 0;
    const unlisted = inTotals - hits.reduce((a, [, v]) => a + v, 0);
    const more = [
      ...(hits.length > named.length ? [`… and ${n(hits.length - named.length)} more`] : []),
      ...(unlisted > 0 ? [`${named.length > 0 ? '… and ' : ''}${n(unlisted)} in queues this summary does not list`] : []),
    ];
    return [...named.map(([label, v]) => `${label} ${n(v)}`), ...more].join(' · ');
  };
  if (reroute) {
    const t = summary.totals as RerouteCounters;
    // The ten with most jobs (--verbose: every one counted by name), then the jobs of the others
    // in one count: a list cut at ten said nothing of them.
    const classes = (tally: 'unmappedClasses' | 'quarantinedClasses') => {
      const all = t[tally] ?? {};
      const byName = Object.fromEntries(Object.entries(all).filter(([cls]) => cls !== OTHER_CLASSES));
      const named = topUnmappedClasses({ ...t, [tally]: byName }, view.verbose ? Number.MAX_SAFE_INTEGER : NAMED_SHOWN, tally);
      const rest = Object.values(all).reduce((a, b) => a + b, 0) - named.reduce((a, [, c]) => a + c, 0);
      const others = rest > 0 ? `${named.length > 0 ? ' · ' : ''}… and ${n(rest)} job(s) of other classes` : '';
      return `${named.map(([cls, c]) => `${printable(cls)} ${n(c)}`).join(' · ')}${others}`;
    };
    const would = summary.dryRun ? 'Would be quarantined' : 'Quarantined';
    // Say what happened to each kind: left where it was, or really moved to a quarantine list.
    // A deployed rollback's too, whose view is not told (its summary's rollbackOf).
    const why = isRollback(summary, view) ? 'cannot be put back (the samples say why)' : 'no destination for their class';
    if (classes('unmappedClasses')) attention.push(`Left in place, ${why}: ${classes('unmappedClasses')}`);
    if (classes('quarantinedClasses')) attention.push(`${would}, no destination for their class: ${classes('quarantinedClasses')}`);
    // Set entries always stay; queued ones went to the quarantine list when it was asked for.
    const unparsableQuarantined = t.quarantinedUnparsable ?? 0;
    const unparsableLeft = (t.unparsable ?? 0) - unparsableQuarantined;
    if (unparsableLeft > 0) attention.push(`${n(unparsableLeft)} unparsable job(s) left in place (samples below).`);
    if (unparsableQuarantined > 0) attention.push(`${n(unparsableQuarantined)} unparsable job(s) ${summary.dryRun ? 'would be quarantined' : 'quarantined'} (samples below).`);
    if ((t.conflicts ?? 0) > 0) {
      attention.push(`${n(t.conflicts)} conflict(s): ${summary.dryRun ? 'would be left in place, their bytes already in their set (or the rewrite of another entry moved before them)' : 'left in place, their bytes already on the destination set'}.`);
    }
    if ((t.uncheckedMoves ?? 0) > 0) {
      attention.push(`${n(t.uncheckedMoves!)} set entr(ies) counted as moved were checked for conflicts only against the first ${n(DRY_RUN_REWRITES_KEPT)} rewrites of their set that this dry run remembers: the run may find some of them conflicts (left in place).`);
    }
    if ((t.quarantined ?? 0) > 0) attention.push(`${would} to sidekiq-migrate:quarantine:<queue>, by queue: ${byQueue((c) => c['quarantined']!)}`);
    if ((t.keptOnLiveQueues ?? 0) > 0) attention.push(`Left in place on live queues (still routed to or fetched; never quarantined): ${byQueue((c) => c['keptOnLiveQueues']!)}`);
    const samples = [...t.samples.unmapped, ...t.samples.unparsable];
    if (samples.length > 0) attention.push(`Samples: ${samples.map((s) => `${printable(s.className ?? '?')} (jid ${printable(s.jid ?? '?')}, ${printable(s.reason)})`).join('; ')}`);
    if ((t.uniqueLocked ?? 0) > 0) attention.push(uniqueLockWarning(t.uniqueLocked, summary.dryRun));
    // A rollback's drained queues are those the rolled-back run moved jobs to, and "again" is the
    // rollback's (left-behind.ts runAgain); a run's words stay as they were.
    const rollback = isRollback(summary, view);
    const { verb, again } = runAgain(summary.rollbackOf, rollback);
    if ((t.unreached ?? 0) > 0) {
      const where = rollback ? 'on the queues this rollback drains when it began' : 'on retired queues when the run began';
      attention.push(
        `${n(t.unreached!)} job(s) that were ${where} were not reached (${byQueue((c) => c['unreached'] ?? 0)}): jobs a stopping Sidekiq pushed back under the pass (RPUSH) were moved in their place. ${again[0]!.toUpperCase()}${again.slice(1)} to ${rollback ? 'move them back' : 'move them'}.`,
      );
    }
    if ((t.arrived ?? 0) > 0 && summary.dryRun) {
      attention.push(dryRunArrivals(t.arrived!, rollback ? (summary.rollbackOf ?? null) : undefined, byQueue((c) => c['arrived']!, true)));
    } else if ((t.arrived ?? 0) > 0) {
      const arrivedWhere = rollback ? `arrived during the rollback on the queues it drains, those ${summary.rollbackOf !== undefined ? `run ${summary.rollbackOf}` : 'the rolled-back run'} moved jobs to` : 'arrived on retired queues during the run';
      attention.push(`${n(t.arrived)} job(s) ${arrivedWhere} (${byQueue((c) => c['arrived']!, true)}): not ${verb} by this ${rollback ? 'rollback' : 'run'}; ${again} or see drain-check.`);
    }
    // A set's arrivals are its summary's count alone (a re-route's set pass counts none).
    const arrivedInSets = Object.entries(summary.sets).filter(([, c]) => (asRecord(c)['arrived'] ?? 0) > 0).map(([set]) => set);
    if (arrivedInSets.length > 0 && !summary.dryRun) attention.push(setCountsFloor(arrivedInSets, true));
    const earlier = quarantinedBefore(summary);
    if (earlier > 0) {
      const found = summary.leftOnSource ?? [];
      const more = (summary.leftOnSourceLists ?? found.length) - found.length;
      // Each list with what it held before this run (the count is of those): named with its whole
      // size, a list this run put jobs in too counted them twice, and one only this run filled
      // was named among the earlier runs' (cli-quarantine-earlier-lists.test.ts).
      const ours = quarantinedByQueue(summary, view);
      const lists = found.map((l) => ({ key: l.key, size: l.size - (summary.dryRun ? 0 : (ours.get(l.queue) ?? 0)) })).filter((l) => l.size > 0);
      // A rollback quarantines nothing (its queues are live: --unmapped quarantine changes nothing), so not "or from this run" (audit-truth2).
      attention.push(
        `${n(earlier)} job(s) in quarantine lists from earlier runs${view.resumedRun && !isRollback(summary, view) ? ' (or from this run before it was resumed)' : ''}, which nobody runs: ${lists.map((l) => `${displayName(l.key)} ${n(l.size)}`).join(' · ')}${more > 0 ? ` and ${n(more)} more lists` : ''}. Put them back on a queue or delete them by hand (drain-check counts them).`,
      );
    }
    const held = summary.inflightOnSource;
    if (held) {
      attention.push(
        `${n(held.jobs)} job(s) in flight on this Redis, claimed by an interrupted transfer out of it (${held.keys.map((k) => displayName(k)).join(' · ')}${held.lists > held.keys.length ? ` and ${n(held.lists - held.keys.length)} more` : ''}): no worker runs them and this ${reroute && isRollback(summary, view) ? 'rollback' : 'run'} does not move them. Run that transfer again (the same move) to finish it; drain-check counts them.`,
      );
    }
  } else {
    const stuck = summary.inflightStillOnSource;
    if (summary.resumed && summary.resumed.resumed > 0) {
      // Not "Finished" over jobs still in flight at the end (a conflict kept there: below).
      if (stuck && !summary.dryRun) attention.push(`Took up ${n(summary.resumed.resumed)} job(s) left in flight by an interrupted run; ${n(stuck.jobs)} job(s) still in flight on the source (below).`);
      else attention.push(`${summary.dryRun ? 'Would finish' : 'Finished'} ${n(summary.resumed.resumed)} job(s) left in flight by an interrupted run${summary.dryRun ? ', before anything new is claimed' : ''}.`);
    }
    const t = summary.totals as TransferCounters;
    if ((t.duplicates ?? 0) > 0) attention.push(writtenBefore(summary, view.verbose === true));
    if ((t.uniqueLocked ?? 0) > 0) attention.push(uniqueLockWarning(t.uniqueLocked!, summary.dryRun));
    // A transfer carries these too (carry-job.ts): byte for byte, to the queue they were on.
    if ((t.unmapped ?? 0) > 0 || (t.unparsable ?? 0) > 0) attention.push(`Carried unchanged, to the queue or set they were in: ${n(t.unmapped ?? 0)} with no destination for their class, ${n(t.unparsable ?? 0)} unparsable job(s).`);
    if ((t.conflicts ?? 0) > 0) {
      const where = Object.entries(summary.sets).filter(([, c]) => ((c as TransferCounters).conflicts ?? 0) > 0).map(([set, c]) => `${set} ${n((c as TransferCounters).conflicts)}`);
      const named = (t.conflictSamples ?? []).map((s) => `${printable(s.className ?? '?')} (jid ${printable(s.jid ?? '?')})`).join('; ');
      attention.push(`Left on the source, their bytes already in the target set (a sorted set would merge them): ${where.length > 0 ? where.join(' · ') : n(t.conflicts)}${named ? `: ${named}` : ''}`);
    }
    // Sets first, then queues (bounded like byQueue): what was added to them while their pass ran.
    // A set whose count of what stays was cut short (leftUncounted): its number is a floor, said "at least".
    const floor = (c: TransferCounters) => ((c.leftUncounted ?? 0) > 0 ? 'at least ' : '');
    const still = [
      ...Object.entries(summary.sets).map(([set, c]) => [set, (c as TransferCounters).leftOnSource ?? 0, floor(c as TransferCounters)] as const),
      ...Object.entries(summary.queues).map(([q, c]) => [`queue:${displayName(q)}`, (c as TransferCounters).leftOnSource ?? 0, ''] as const),
    ].filter(([, v]) => v > 0);
    if (still.length > 0 || (t.leftOnSource ?? 0) > 0) {
      const total = Math.max(t.leftOnSource ?? 0, still.reduce((sum, [, v]) => sum + v, 0));
      const named = view.verbose ? still : still.slice(0, NAMED_SHOWN);
      const where = `${named.map(([k, v, least]) => `${k} ${least}${n(v)}`).join(' · ')}${still.length > named.length ? ` · … and ${n(still.length - named.length)} more` : ''}`;
      attention.push(`${(t.leftUncounted ?? 0) > 0 ? 'At least ' : ''}${n(total)} job(s) still on the source when their transfer ended, added during the run${where ? ` (${where})` : ''}: ${view.moveAgain ?? 'run move again'} or see drain-check.`);
      const inSets = still.filter(([k]) => k in summary.sets).map(([k]) => k);
      if (inSets.length > 0 && !summary.dryRun) attention.push(setCountsFloor(inSets, false));
    }
    for (const cut of countsCutShort(summary)) attention.push(`Jobs of the selected classes ${cut}: they are not counted above. drain-check counts them.`);
    // Which queues' entries stay in which set (set-leftovers.ts): the lines above count them by kind.
    const inSets = setLeftoversLine(t.leftInSets, view.verbose ? Number.MAX_SAFE_INTEGER : LEFT_QUEUES_SHOWN, t.examined !== undefined);
    if (inSets) attention.push(inSets);
    const left = summary.leftOnSource ?? [];
    if (left.length > 0) {
      const more = (summary.leftOnSourceLists ?? left.length) - left.length;
      attention.push(`Not transferred, left on the source: ${left.map((l) => `${displayName(l.key)} ${n(l.size)}`).join(' · ')}${more > 0 ? ` and ${n(more)} more lists` : ''}`);
      attention.push('The source is not drained while these exist: put their jobs back on a queue and move again, or delete them by hand (drain-check counts them).');
    }
    const held = summary.inflightOnTarget;
    if (held) {
      attention.push(
        `${n(held.jobs)} job(s) in flight on the target, claimed there by an interrupted transfer out of it (${held.keys.map((k) => displayName(k)).join(' · ')}${held.lists > held.keys.length ? ` and ${n(held.lists - held.keys.length)} more` : ''}): no worker runs them and this run does not finish them. Run that transfer again (the same move from the target) to finish it; drain-check of the target counts them.`,
      );
    }
    if (stuck) {
      attention.push(
        `${n(stuck.jobs)} job(s) still in flight on the source when the run ended (${stuck.keys.map((k) => displayName(k)).join(' · ')}${stuck.lists > stuck.keys.length ? ` and ${n(stuck.lists - stuck.keys.length)} more` : ''}): claimed by a transfer, not acknowledged — a set entry whose exact bytes are in the source set again (given back as a conflict, the two would merge), or a slice of a page that failed. No worker runs them. Run the same move again to finish them; an entry whose bytes are still in the source set stays in flight each time (the same bytes are in that set and on the target): delete it from the in-flight key by hand if it is a copy. drain-check counts them.`,
      );
    }
    const odd = summary.inflightLeftOnSource;
    if (odd) {
      attention.push(
        `${n(odd.jobs)} job(s) in in-flight keys on the source of a shape no transfer writes back (${odd.keys.map((k) => displayName(k)).join(' · ')}${odd.lists > odd.keys.length ? ` and ${n(odd.lists - odd.keys.length)} more` : ''}: a list for a sorted set, a sorted set for a queue, or neither): no worker runs them and no run finishes them. Put their jobs back where they belong by hand, then move again.`,
      );
    }
  }
  // Where jobs were left: the sets and queues holding them, largest first (bounded without --verbose).
  const leftIn = all
    .map(([label, c]) => [label, leftInPlace(c, reroute)] as const)
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1]);
  if (leftIn.length > 0) {
    const named = view.verbose ? leftIn : leftIn.slice(0, NAMED_SHOWN);
    const more = leftIn.length - named.length;
    // A rollback's `unmapped` are the jobs it cannot put back (as "Left in place, cannot be put back" above).
    const kinds = reroute ? `${isRollback(summary, view) ? 'cannot be put back' : 'unmapped'}, unparsable, conflicts` : 'conflicts, unparsable jobs a selection never takes';
    attention.push(`Jobs left in place (${kinds}) by set and queue: ${named.map(([l, v]) => `${l} ${n(v)}`).join(' · ')}${more > 0 ? ` · … and ${n(more)} more` : ''}`);
  }
  const workers = summary.heldByWorkers;
  if (workers) {
    const where = summary.mode === 'reroute' ? 'this Redis' : 'the source';
    // A re-route empties the queues its routing retires; a transfer, every queue of the source
    // (a selection: of its classes' jobs). A transfer retires no queue: never said so.
    const selected = !reroute && (summary.totals as TransferCounters).examined !== undefined;
    const taken = reroute ? 'taken from retired queues' : selected ? "of the selected classes taken from the source's queues" : "taken from the source's queues";
    const tookFrom = reroute ? 'took from retired queues' : "took from the source's queues";
    const lists = (named: readonly { key: string; size: number }[], jobs: number) => `${named.map((l) => `${displayName(l.key)} ${n(l.size)}`).join(' · ')}${named.reduce((x, l) => x + l.size, 0) < jobs ? ' · …' : ''}`;
    if (workers.abandoned > 0) {
      attention.push(
        `${n(workers.abandoned)} job(s) ${taken} by workers that are gone, in their fetchers' private lists (${lists(workers.abandonedLists, workers.abandoned)}): nobody runs them until a process of the same fetcher puts them back on their old queue on ${where}; then run again (drain-check counts them).`,
      );
    }
    // Lists of processes not heard from for several beats are said with their process (below).
    const working = workers.working - (workers.silentWorking ?? 0);
    if (working > 0) {
      attention.push(
        `${n(working)} job(s) ${taken} are being worked on (${lists(workers.workingLists.filter((l) => l.ownerSilentSeconds === undefined), working)}): one that fails goes to retry, one whose worker dies back on its old queue${reroute ? '' : ', both on the source'}; run again after the last restart (drain-check counts them).`,
      );
    }
    const running = runningInNoList(summary, printable);
    if (running) {
      // Sidekiq's own fetch took them (BRPOP): only their process's heartbeat shows them (drain-check reads them the same way).
      attention.push(
        `${running.jobs} job(s) ${taken} are being run by live Sidekiq processes on ${where} (${running.named}), in no list: one that fails goes to retry on ${where} naming its queue; one whose process is stopped (TERM) first goes back on its queue there; one whose process is killed (KILL, out of memory) is lost. drain-check tells when they are gone.`,
      );
    }
    // Live processes not heard from for several beats (they may have been killed): what they hold is
    // worked on by nobody, said in drain-check's words (judge-drain.ts notHeardFromReason).
    const silentNamed = workers.notHeardFrom ?? [];
    for (const p of silentNamed) attention.push(`${notHeardFromReason(p, where)}; drain-check counts them.`);
    // The summary names the first 10 such processes (and those running jobs in no list, the first
    // RUNNING_NAMED): the others' jobs were taken out of the lines above, so they are said here, as
    // drain-check says them (judge-drain.ts).
    const heldBySilent = (workers.silentWorking ?? 0) + (workers.running?.silentJobs ?? 0);
    const saidOfSilent = silentNamed.reduce((x, p) => x + p.inLists + p.running, 0);
    if (heldBySilent > saidOfSilent) {
      const others = silentNamed.length > 0 ? `other Sidekiq processes on ${where} not heard from for more than ${SILENT_BEATS} beats (the first ${silentNamed.length} are named above)` : `Sidekiq processes on ${where} not heard from for more than ${SILENT_BEATS} beats`;
      attention.push(`${n(heldBySilent - saidOfSilent)} ${silentNamed.length > 0 ? 'more ' : ''}job(s) are held by ${others}: they may have been killed; see docs/runbooks/redis-move.md, step 6.1; drain-check counts them.`);
    }
    const notRead = workers.running?.processesNotRead ?? 0;
    if (notRead > 0) {
      attention.push(`The heartbeats of ${n(notRead)} live Sidekiq process(es) on ${where} were not read (a summary reads ${n(RUNNING_PROCESSES_READ)} at most): jobs they run in no list are not counted; drain-check counts them.`);
    }
    // What it did not reach is not counted above: never said as none.
    if (workers.cutShort) {
      const why =
        workers.cutShort === 'time'
          ? `the summary's time for it ran out before it reached the end of the keys of ${where}, after ${n(workers.lists)} list(s) with such jobs`
          : `it stopped at ${n(workers.lists)} lists with such jobs, the most a summary reads`;
      attention.push(`The look for jobs workers ${tookFrom} into their fetchers' private lists (working:queue:*, queue:sq|*) was cut short: ${why}. There may be more there; drain-check counts them.`);
    }
  }
  // The looks for quarantine lists and in-flight keys that the summary's time stopped: what they
  // did not reach is not counted above, never said as none.
  for (const look of leftoverLooksCutShort(summary, reroute)) {
    attention.push(
      `The look for ${look.what} on ${look.where} (${look.pattern}) was cut short: the summary's time for it ran out after about ${n(look.cut.lookedAt)} of its ${n(look.cut.keys)} keys. Jobs in keys it did not reach are not counted here; ${look.where === 'the target' ? 'drain-check of the target' : 'drain-check'} counts them.`,
    );
  }
  // The count of the selected classes' jobs put back on the queues, stopped by the summary's time: never said as none.
  const putBack = summary.selectedArrivalsCutShort;
  if (putBack) {
    attention.push(
      `The count of jobs of the selected classes put back on the source's queues after their transfer ended (Sidekiq's shutdown requeue, a producer still on the old side) was cut short: the summary's time for it ran out after ${n(putBack.read)} of the ${n(putBack.jobs)} jobs on ${n(putBack.queues)} queue(s). Jobs of those classes there are not counted here; drain-check --classes counts them.`,
    );
  }
  // A re-route's count of entries its routing moves added to its sets after their pass ended, stopped by the summary's time.
  const setsCut = summary.setArrivalsCutShort;
  if (setsCut) {
    // A rollback's: entries of a class it puts back naming a queue the rolled-back run moved jobs to (runAgain).
    const rollback = isRollback(summary, view);
    const { again } = runAgain(summary.rollbackOf, rollback);
    const whose = rollback ? 'of the classes it puts back, naming the queues this rollback drains,' : 'of retired queues';
    const named = rollback ? 'still name the queue the rolled-back run moved them to' : 'still name their old queue';
    attention.push(
      `The count of entries ${whose} added to ${setsCut.sets.join(', ')} after their pass ended (a retry handler, a scheduler) was cut short: the summary's time for it ran out with ${n(setsCut.unread)} entries not read. Those entries ${named}, where the poller pushes them when due; they are not counted here. ${again[0]!.toUpperCase()}${again.slice(1)} to ${rollback ? 'move them back' : 'move them'}; drain-check counts them.`,
    );
  }
  const skipped = summary.notLookedAt;
  if (skipped && skipped.places.length > 0) {
    const named = `${skipped.places.map((p) => `${displayName(p.name)} ${n(p.jobs)}`).join(' · ')}${skipped.more > 0 ? ` · … and ${n(skipped.more)} more` : ''}`;
    // A rollback's (rollback --sets, start --rollback --sets): the rest is put back by rolling back again, not by `run`.
    const rollback = isRollback(summary, view);
    const { again } = runAgain(summary.rollbackOf, rollback);
    attention.push(`Not looked at by this run (${skipped.options.join(', ')}), ${skipped.queuesCutShort ? 'at least ' : ''}${n(skipped.jobs)} job(s): ${named}. ${again[0]!.toUpperCase()}${again.slice(1)} without those options to ${rollback ? 'move them back' : 'move them'}.`);
  }
  // What the walk did not reach is not counted above: never said as none.
  if (skipped?.queuesCutShort) {
    const where = summary.mode === 'reroute' ? 'this Redis' : 'the source';
    attention.push(
      `The look for the queue lists --no-queues left out on ${where} (queue:*) was cut short: the summary's time for it ran out after about ${n(skipped.queuesCutShort.lookedAt)} of its ${n(skipped.queuesCutShort.keys)} keys. The queues the \`queues\` set names were counted; jobs in a queue list it does not name may not be. drain-check counts them.`,
    );
  }
  if (skipped?.uncounted) {
    const { places, total } = skipped.uncounted;
    const named = `${places.map((p) => `${displayName(p.name)} (${displayText(p.error)})`).join(' · ')}${total > places.length ? ` · … and ${n(total - places.length)} more` : ''}`;
    attention.push(`Not looked at by this run (${skipped.options.join(', ')}), and could not be counted: ${named}. What it holds was not moved; look at it with redis-cli.`);
  }
  // A rollback has no mapping or rules to correct, and ignores --unmapped quarantine: its own words.
  const rolledBack = reroute && isRollback(summary, view) ? { of: summary.rollbackOf } : undefined;
  attention.push(...otherPrefixLines(summary.underOtherPrefixes, summary.mode === 'reroute' ? 'this Redis' : 'the source', rolledBack));
  if (summary.unheard) attention.push(unheardWarning(summary.unheard, summary.dryRun, reroute, rolledBack));
  if (summary.unheardSilent) attention.push(unheardSilentWarning(summary.unheardSilent, summary.dryRun, reroute, rolledBack));
  if (summary.leftUnheard) attention.push(leftUnheardWarning(summary.leftUnheard, summary.dryRun, reroute, rolledBack));
  if (summary.leftUnheardInSets) attention.push(leftUnheardInSetsWarning(summary.leftUnheardInSets, summary.dryRun, reroute, reroute ? ((summary.totals as RerouteCounters).conflicts ?? 0) : 0, rolledBack));
  if (summary.leftUnheardSilent) attention.push(leftUnheardSilentWarning(summary.leftUnheardSilent, summary.dryRun, reroute, false, rolledBack));
  if (summary.leftInSetsUnheardSilent) attention.push(leftUnheardSilentWarning(summary.leftInSetsUnheardSilent, summary.dryRun, reroute, true, rolledBack));
  if (summary.leftInSetsUnreadable) attention.push(leftInSetsUnreadableWarning(summary.leftInSetsUnreadable.jobs, summary.dryRun, rolledBack));
  if (summary.deadSetOverCap) attention.push(deadSetWarning(summary.deadSetOverCap, summary.dryRun));
  const unmatched = unmatchedRenames(summary, reroute);
  if (unmatched.length > 0) attention.push(unmatchedWarning(unmatched, summary.dryRun));
  if (summary.movedOnSince && summary.movedOnSince.runs.length > 0) attention.push(movedOnWarning(summary.movedOnSince, summary.dryRun));
  if (summary.movedOnSince?.cutShortAfter !== undefined) {
    attention.push(
      `The look for later runs that moved run ${summary.movedOnSince.of}'s jobs on (their records, sidekiq-migrate:*:moves) was cut short after about ${n(summary.movedOnSince.cutShortAfter)} keys of this Redis: one it did not reach may have, and this rollback would not know. List them with redis-cli --scan --pattern '*sidekiq-migrate:*:moves'; roll back any run newer than ${summary.movedOnSince.of} first.`,
    );
  }
  // Attempts whose work no counter has (an attempt retried while it ran, a lost reply): the
  // numbers above may be short; the jobs are not, and the keys say where they are.
  const uncounted = summary.totals.uncountedAttempts ?? 0;
  if (uncounted > 0) attention.push(countsMayBeShortWarning(uncounted, reroute));
  for (const f of summary.failures) attention.push(`FAILED ${f.kind} ${displayName(f.name)}: ${displayText(f.error)}`);
  const failed = summary.counts?.failed ?? 0;
  if (failed > summary.failures.length) attention.push(`FAILED ${n(failed - summary.failures.length)} more sets and queues (the first ${summary.failures.length} are named above)`);
  // An item continued in an execution that failed, was stopped or timed out (named FAILED above): it continues nowhere.
  const ended = new Set(summary.failures.filter((f) => f.kind === 'execution').map((f) => f.name));
  for (const c of summary.continuedIn) attention.push(ended.has(c.execution) ? `Not finished: ${c.kind} ${c.name}, continued in ${c.execution}, which ended without finishing it (above)` : `Still continuing: ${c.kind} ${c.name} in ${c.execution}`);
  if (summary.interrupted) {
    attention.push(
      `Stopped by ${summary.interrupted.signal}: ${n(summary.interrupted.unfinished)} sets and queues not finished. ${
        reroute ? 'Every page that ran is complete, its jobs moved in one atomic step: none is in flight.' : 'Every page that ran is complete; what a page had claimed is in flight, and the next run finishes it first.'
      }`,
    );
  }
  if (summary.superseded) {
    attention.push(
      `Superseded by a later execution of run ${summary.runId} (planned ${new Date(summary.superseded.laterPlannedAt).toISOString()}${summary.superseded.laterPlannedBy !== undefined ? `, execution ${summary.superseded.laterPlannedBy}` : ''}): this execution moved nothing more and left the run's list, executions, stop marker and lock to it.`,
    );
  }
  if (attention.length > 0) {
    out.push('', 'Needs a look:');
    for (const line of attention) say(line);
  }

  out.push('');
  say(summaryVerdict(summary, endpoint, view).line);
  return `${out.join('\n')}\n`;
}

/** How a run's summary ends: its last line, and what kind of end that is (for --json, as drain-check's `verdict`). */
export interface SummaryVerdict {
  /**
   * `complete`: everything that could be moved was moved; `done-but`: the run finished but left
   * jobs behind, may have, a rename moved nothing, or live Sidekiq processes still hold jobs of the
   * queues it emptied (the line says which); `not-complete`: failed,
   * stopped, still continuing or superseded (run it again); `dry-run`: nothing was written.
   */
  readonly state: 'complete' | 'done-but' | 'not-complete' | 'dry-run';
  /** The summary's last line, as the human view ends. */
  readonly line: string;
}

/** The verdict a summary ends with (renderSummary's last line). */
export function summaryVerdict(summary: RunSummary, endpoint: string, view: SummaryView = {}): SummaryVerdict {
  const reroute = summary.mode === 'reroute';
  const unmatched = unmatchedRenames(summary, reroute);
  const uncounted = summary.totals.uncountedAttempts ?? 0;
  const arrived = reroute ? ((summary.totals as RerouteCounters).arrived ?? 0) : 0;
  const unreached = reroute ? ((summary.totals as RerouteCounters).unreached ?? 0) : 0;
  // From the totals: the summary lists the first sets and queues only.
  const stillOnSource = reroute ? 0 : ((summary.totals as TransferCounters).leftOnSource ?? 0);
  // A selection that found none of its jobs (the source holds only other classes) did not move
  // "everything": it found nothing of what it was asked for, and says so.
  const selective = reroute ? undefined : (summary.totals as TransferCounters);
  const selectedNone = selective?.examined !== undefined && selective.claimed === 0 && selective.resumed === 0 && !summary.dryRun;
  // Jobs this run left behind (quarantined, or in place: unmapped, unparsable, conflicts; lists it
  // does not transfer): never "Complete", whatever else moved. A dry run counts what a run would leave.
  const leftBehind = jobsLeftBehind(summary, reroute);
  // Jobs pushed to retired queues while the run drained them are still there: not "Complete" either.
  // A rollback's run whose jobs later runs moved on: not put back, never "Complete".
  const movedOn = summary.movedOnSince && summary.movedOnSince.runs.length > 0 ? [movedOnClause(summary.movedOnSince)] : [];
  const leftOrArrived = [
    ...leftBehind,
    ...movedOn,
    ...(unreached > 0 ? [unreachedClause(unreached, isRollback(summary, view))] : []),
    ...(arrived > 0 ? [arrivedClause(arrived, isRollback(summary, view))] : []),
  ];
  // What the summary could not count: it may hold jobs, so neither "Complete" nor "left none".
  const uncertain = unknownLeftBehind(summary);
  const renames = unmatched.map((r) => `--rename ${displayName(r.from)}=${displayName(r.to)}`).join(', ');
  // Counts an attempt may have left out (uncounted, above): every verdict that states counts says so.
  const mayBeShort = uncounted > 0 ? ' The counts may be short (see "Needs a look" above).' : '';
  // Jobs of the queues it emptied that live workers still hold (in their fetchers' private lists,
  // or in no list): not done, so where it would say "Complete" it says them (heldByLiveWorkers).
  // A dry run says them too: a run would not end "Complete" over them either.
  const held = liveWorkersHold(summary);
  const complete = summary.dryRun
    ? refusedDryRun(dryRunVerdict(summary, emptySource(endpoint, reroute, view), reroute, [...leftBehind, ...movedOn], unmatched.length > 0 ? `; ${renames} would move nothing (see "Needs a look" above)` : '', held, reroute && isRollback(summary, view)), reroute ? undefined : view.memoryPolicies)
    : stillOnSource > 0
      ? // And whatever else it left (the deployed summary's verdict names them all: left-behind.ts).
        `Done, but jobs remain on the source (${(summary.totals as TransferCounters).leftUncounted ? 'at least ' : ''}${n(stillOnSource)}, above): ${view.moveAgain ?? 'run move again'}.${summary.unheard ? ` ${unheardSentence(summary.unheard)}` : ''}${summary.unheardSilent ? ` ${unheardSilentSentence(summary.unheardSilent)}` : ''}${leftOrArrived.length > 0 ? ` Also left behind: ${[...leftOrArrived, ...uncertain].join(' · ')} (see "Needs a look" above).` : uncertain.length > 0 ? ` Jobs may also have been left behind: ${uncertain.join(' · ')} (see "Needs a look" above).` : ''}${mayBeShort}`
      : summary.nothingThere && !held
        ? `Complete: nothing was there to move (no Sidekiq data on ${emptySource(endpoint, reroute, view)}).`
        : leftOrArrived.length > 0
          ? // The jobs left first (as the deployed summary's verdict, left-behind.ts), then a rename that moved nothing.
            `Done, but jobs were left behind: ${[...leftOrArrived, ...uncertain].join(' · ')}${unmatched.length > 0 ? `; ${renames} moved nothing` : ''}${unheardDoneTail(summary.unheard, summary.unheardSilent)} (see "Needs a look" above).${mayBeShort}`
        : unmatched.length > 0
          ? `Done, but ${renames} moved nothing: no such queue on this Redis, and no schedule, retry or dead entry names it${unheardDoneTail(summary.unheard, summary.unheardSilent)} (see "Needs a look" above).${mayBeShort}`
          : uncertain.length > 0
            ? `Done, but jobs may have been left behind: ${uncertain.join(' · ')}${unheardDoneTail(summary.unheard, summary.unheardSilent)} (see "Needs a look" above).${mayBeShort}`
          : held
            ? // What live workers hold, then what else of the selection there was (none), or what a "Complete" would add.
              selectedNone
              ? `Done, but ${held} (see "Needs a look" above). No other job of the selected classes ${uncounted > 0 ? "is left on the source's queues or sets; the counts say none was moved, but they may be short" : "was on the source's queues or sets; nothing was moved"}.`
              : `Done, but ${held}${unheardDoneTail(summary.unheard, summary.unheardSilent)} (see "Needs a look" above).${deadSetSentence(summary.deadSetOverCap)}${mayBeShort}`
          : selectedNone
            ? // An attempt the counts left out may have moved them: "nothing was moved" only when the counts are whole.
              uncounted > 0
              ? 'Complete: no job of the selected classes is left on the source. The counts say none was moved, but they may be short (see "Needs a look" above).'
              : 'Complete: no job of the selected classes was on the source; nothing was moved.'
            : `Complete: everything that could be moved was moved${unheardTail(summary.unheard, false, summary.unheardSilent)}${deadSetTail(summary.deadSetOverCap)}${uncounted > 0 ? ' (counts may be short: see "Needs a look" above)' : ''}.`;
  const superseded = summary.superseded ? supersededVerdict(summary.runId, summary.superseded.laterPlannedBy) : undefined;
  if (!summary.complete) return { state: 'not-complete', line: superseded ?? (summary.interrupted ? `Not complete: stopped by ${summary.interrupted.signal}. Run the same command again to finish.` : `Not complete: ${view.again ?? 'run the same command again to resume.'}`) };
  // A "Done, but" for other reasons names them too, after its own ("Complete" never stands with them).
  const withHeld = held === undefined || summary.dryRun || complete.startsWith(`Done, but ${held}`) ? complete : `${complete} Also ${held}.`;
  const line = view.cronLeft === undefined || summary.dryRun ? withHeld : withHeld.startsWith('Complete') ? `Done, but ${view.cronLeft} (see above).` : `${withHeld} Also ${view.cronLeft} (see above).`;
  return { state: summary.dryRun ? 'dry-run' : line.startsWith('Complete') ? 'complete' : 'done-but', line };
}

/** A rollback's summary: the CLI's rollback command says so (view), a deployed one's summary by the run it puts back. */
function isRollback(summary: RunSummary, view: SummaryView): boolean {
  return view.rollback === true || summary.rollbackOf !== undefined;
}

/**
 * The sets' share of a count of what was left or arrived is a floor: read while Sidekiq's poller
 * (a live one: `run` and `rollback` re-route under it, `move` runs while Sidekiq runs on both)
 * takes due entries out of them onto a queue, an entry taken after the queues' look and before the
 * set's read is counted in neither. Said, not implied exact (audit-rbsets).
 */
function setCountsFloor(sets: readonly string[], reroute: boolean): string {
  const poller = reroute ? "Sidekiq's poller" : "the source's Sidekiq poller";
  const many = sets.length > 1;
  return `The count${many ? 's' : ''} of ${sets.join(', ')} above ${many ? 'are floors' : 'is a floor'}: ${poller} takes due entries out of ${many ? 'those sets' : 'that set'} onto their queues while the summary reads ${many ? 'them' : 'it'}, and one taken in between is counted nowhere; drain-check counts what is left.`;
}

/**
 * Jobs of the queues the run emptied that live Sidekiq processes still hold (left-behind.ts
 * heldByLiveWorkers: in their fetchers' private lists, or in no list), as the verdict says them:
 * not done (one finishes, fails into retry there, or goes back on its old queue there), so never
 * "Complete" over them. Undefined when none.
 */
function liveWorkersHold(summary: RunSummary): string | undefined {
  const clauses = heldByLiveWorkers(summary, { list: displayName, process: printable });
  return clauses.length > 0 ? `${clauses.join('; ')}; drain-check tells when they are gone` : undefined;
}

/** The target's dead set at Sidekiq's cap, as a sentence of a "Done, but" verdict. */
function deadSetSentence(over: RunSummary['deadSetOverCap']): string {
  return over ? ` The next job that dies on the target drops the oldest ${n(over.drops)} entries of its dead set.` : '';
}

/** The kinds of destinations, with one more queue (those not named are one queue at least). */
function kindsWithOneMore(setsWritten: number, destinations: number): string {
  const queues = destinations - setsWritten + 1;
  const queueWords = `${n(queues)} queue${queues === 1 ? '' : 's'}`;
  return setsWritten > 0 ? `${n(setsWritten)} set${setsWritten === 1 ? '' : 's'}, ${queueWords}` : queueWords;
}

/**
 * A transfer's dry run where a run would be refused (a Redis that may evict any key): its verdict
 * says so first, rather than what "a run would move" (the dry run looks all the same).
 */
function refusedDryRun(verdict: string, policies: SummaryView['memoryPolicies']): string {
  const refusing = (['source', 'target'] as const).filter((side) => policies?.[side]?.startsWith('allkeys-'));
  if (refusing.length === 0) return verdict;
  const why = refusing.map((side) => `the ${side}'s maxmemory-policy is ${policies![side]}`).join(' and ');
  const prefix = 'Dry run, nothing written: ';
  const rest = verdict.startsWith(prefix) ? verdict.slice(prefix.length) : verdict;
  return `${prefix}a run would be refused, touching nothing: ${why}, which may evict any key (set noeviction, or a volatile-* policy, first). Once it is set: ${rest}`;
}

/** Where a run found no Sidekiq data: the Redis of a re-route; a transfer's source alone (its target may hold jobs). */
function emptySource(endpoint: string, reroute: boolean, view: SummaryView): string {
  return reroute ? endpoint : `the source${view.source ? `, ${view.source}` : ''}`;
}

/**
 * A dry run's last line: it moved nothing by design, so it never says "Complete"; it says what a
 * run would move, and what that run would leave behind (never "none" when it would leave some).
 * `more`: a clause the verdict's last sentence ends with (the renames that would move nothing).
 * `held`: jobs of the queues live workers hold (liveWorkersHold): a run would not take them, so a
 * dry run never says "leave none behind" alone over them. `rollback`: what a rollback would do,
 * "put back" (audit-truth2: it said "a run would move"); a run's words unchanged.
 */
function dryRunVerdict(summary: RunSummary, emptySource: string, reroute: boolean, leftBehind: readonly string[], more: string, held: string | undefined, rollback = false): string {
  if (summary.nothingThere) return `Dry run, nothing written: nothing is there to move (no Sidekiq data on ${emptySource}).`;
  const t = summary.totals as unknown as Partial<Record<string, number>>;
  const wouldMove = (reroute ? t['moved'] : t['written']) ?? 0;
  // Jobs interrupted runs left in flight (a transfer): a run finishes them before anything new.
  const inFlight = reroute ? 0 : (summary.resumed?.resumed ?? 0);
  if (!reroute && t['examined'] !== undefined && wouldMove === 0 && inFlight === 0) return 'Dry run, nothing written: no job of the selected classes is on the source; a run would move nothing.';
  const uncertain = unknownLeftBehind(summary);
  // Beside jobs left behind, "N of them" would read as N of those: name the jobs it would move.
  const alsoHeld = held === undefined ? '' : `; ${held}`;
  const leaves =
    leftBehind.length > 0
      ? `leave jobs behind: ${[...leftBehind, ...uncertain].join(' · ')}${unheardDryDoneTail(summary.unheard, summary.unheardSilent)}${alsoHeld} (see "Needs a look" above)`
      : uncertain.length > 0
        ? `maybe leave jobs behind: ${uncertain.join(' · ')}${unheardDryDoneTail(summary.unheard, summary.unheardSilent)}${alsoHeld} (see "Needs a look" above)`
        : held !== undefined
          ? `leave none behind on the queues and sets${unheardDryDoneTail(summary.unheard, summary.unheardSilent)}${alsoHeld} (see "Needs a look" above)`
          : `leave none behind${unheardTail(summary.unheard, true, summary.unheardSilent)}`;
  const finish = inFlight > 0 ? `finish ${n(inFlight)} job(s) left in flight, ` : '';
  // Jobs pushed to the queues it drains while it read them (RerouteCounters.arrived): a real run
  // started now finds them there and takes them in (dryRunArrivals), so they are not left behind.
  const arrived = reroute ? (t['arrived'] ?? 0) : 0;
  const seeAbove = leaves.endsWith('(see "Needs a look" above)') ? '' : ' (see "Needs a look" above)';
  const alsoArrived = arrived > 0 ? `, and take in too the ${n(arrived)} that arrived while this dry run read${seeAbove}` : '';
  return `Dry run, nothing written: a ${rollback ? 'rollback' : 'run'} would ${finish}${rollback ? 'put back' : 'move'} ${n(wouldMove)} job(s) and ${leaves}${alsoArrived}${more}.`;
}

/**
 * A re-route's dry run over jobs pushed to the queues it drains while its pass read them (counted
 * as `arrived`, beyond the length the pass began with: queue-slice.ts). A real run or rollback
 * started afterwards finds them on those queues and takes them in with the rest (a rollback every
 * job of a class it puts back there, recorded or not: rollback-arrivals.ts), so "not moved (back)
 * by this run; run (roll back) again" was untrue of them, and the verdict's "leave none behind"
 * said the opposite (audit-rbwords). `rollbackOf`: undefined for a run, null for a rollback of an
 * unknown run.
 */
function dryRunArrivals(arrived: number, rollbackOf: string | null | undefined, byQueue: string): string {
  const what =
    rollbackOf === undefined
      ? `${n(arrived)} job(s) arrived on retired queues while this dry run read them`
      : `${n(arrived)} job(s) of the classes it puts back arrived on the queues it drains, those ${rollbackOf !== null ? `run ${rollbackOf}` : 'the rolled-back run'} moved jobs to, while this dry run read them`;
  const who = rollbackOf === undefined ? 'a run' : 'a rollback';
  return `${what} (${byQueue}): not counted above; ${who} started now would take them in too (this dry run did not examine them: dry-run again to count them).`;
}

/**
 * A rollback of run R after later runs moved R's jobs on (moved-on-since.ts): what the records say
 * of where they went, and what to do (roll those runs back first, newest first, then R again).
 */
function movedOnWarning(movedOn: NonNullable<RunSummary['movedOnSince']>, dryRun: boolean): string {
  const places = `${movedOn.places.map((p) => `${p.routedClass} ${displayName(p.from)} → ${displayName(p.now)}`).join(' · ')}${movedOn.totalPlaces > movedOn.places.length ? ` · … and ${n(movedOn.totalPlaces - movedOn.places.length)} more` : ''}`;
  const runs = `${movedOn.runs.join(', ')}${movedOn.totalRuns > movedOn.runs.length ? ` and ${n(movedOn.totalRuns - movedOn.runs.length)} more` : ''}`;
  const first = movedOn.runs.map((r) => `sidekiq-migrate rollback ${r}`).join(', then ');
  return (
    `Jobs of run ${movedOn.of} are no longer where it put them: later run(s) ${runs} moved them on (by the records, class and queue it put them on → where they are now: ${places}). ` +
    `This rollback ${dryRun ? 'would not put' : 'did not put'} those back. Roll back the later run(s) first, newest first (${first}), then roll back ${movedOn.of} again.`
  );
}

/** The verdict's clause for it. */
function movedOnClause(movedOn: NonNullable<RunSummary['movedOnSince']>): string {
  return `jobs of run ${movedOn.of} moved on by later run(s) ${movedOn.runs.join(', ')}${movedOn.totalRuns > movedOn.runs.length ? ' …' : ''} (roll those back first)`;
}

/**
 * The renames whose old queue the plan did not find (no list, not in `queues`) and that moved no
 * job: nothing went to their new queue, from a set entry or anywhere. A typo, most often.
 */
function unmatchedWarning(unmatched: NonNullable<RunSummary['renamesWithoutQueue']>, dryRun: boolean): string {
  const named = unmatched.map((r) => `--rename ${displayName(r.from)}=${displayName(r.to)}`).join(', ');
  const queues = unmatched.map((r) => displayName(r.from)).join(', ');
  return `${named} ${dryRun ? 'would move' : 'moved'} nothing: this Redis has no queue ${queues} (no list, and not in its set of queues), and no schedule, retry or dead entry names it. Check the name (queue names, not keys: no "queue:" in front).`;
}

/** A rollback, as its words name it (`of`: the run it puts back, RunSummary.rollbackOf; absent where not known). */
type RolledBack = { readonly of: string | undefined } | undefined;

/** What left jobs in place, as a sentence names it: "this rollback" in a rollback's summary (audit-truth2: it said "this run"), else "this run". */
const thisOne = (rollback: RolledBack) => (rollback ? 'this rollback' : 'this run');

/** The run a rollback puts back, as its words name it. */
const rolledBackRun = (rollback: NonNullable<RolledBack>) => (rollback.of !== undefined ? `run ${rollback.of}` : 'the rolled-back run');

/**
 * Queues the run put jobs on that no live process fetches from (summarize-step.ts), for "Needs a
 * look". A rollback's are the queues the rolled-back run took those jobs from: it has no mapping or
 * rules to correct, and running it again moves nothing there (audit-truth).
 */
function unheardWarning(unheard: NonNullable<RunSummary['unheard']>, dryRun: boolean, reroute: boolean, rollback?: RolledBack): string {
  const where = reroute ? 'this Redis' : 'the target';
  const named = `${unheard.queues.map((q) => `${displayName(q.queue)} ${n(q.jobs)}`).join(' · ')}${unheard.total > unheard.queues.length ? ` · … and ${n(unheard.total - unheard.queues.length)} more` : ''}`;
  if (rollback) {
    return `Nobody fetches from ${n(unheard.total)} queue(s) this rollback ${dryRun ? 'would put' : 'put'} jobs back on (${named}): ${noneOfTheLive(unheard, where)} listens to them, so those jobs wait until one does. Start a process on those queues: they are the queues ${rolledBackRun(rollback)} took those jobs from (drain-check counts them as orphans).`;
  }
  const verb = dryRun ? 'would put' : 'put';
  return `Nobody fetches from ${n(unheard.total)} queue(s) this run ${verb} jobs on (${named}): ${noneOfTheLive(unheard, where)} listens to them, so those jobs wait until one does. Start a process on those queues, or correct the ${reroute ? 'mapping or rules' : 'routing'} and run again (drain-check counts them as orphans).`;
}

/**
 * "none of the N live Sidekiq process(es) on WHERE", the subject of "listens to them": those not
 * heard from for more than SILENT_BEATS beats (UnheardQueues.notHeardFrom: they may have been
 * killed) said apart, never counted as processes that would fetch if told to.
 */
function noneOfTheLive(found: { readonly liveProcesses: number; readonly notHeardFrom?: { readonly processes: number; readonly silentSeconds: number } }, where: string): string {
  const silent = found.notHeardFrom;
  if (!silent) return `none of the ${n(found.liveProcesses)} live Sidekiq process(es) on ${where}`;
  const beating = found.liveProcesses - silent.processes;
  const notHeard = `${n(silent.processes)} not heard from for ${timeSpan(silent.silentSeconds)} (they may have been killed)`;
  return beating > 0 ? `none of the ${n(beating)} live Sidekiq process(es) on ${where} that beat, nor the ${notHeard},` : `no live Sidekiq process on ${where} beats, and none of the ${notHeard}`;
}

/**
 * Queues the run left jobs in place on (unmapped, unparsable, conflicts) that nobody fetches from
 * (summarize-step.ts leftUnheard), for "Needs a look": those jobs never run as things stand, and
 * drain-check, run later, was the first to say so.
 */
function leftUnheardWarning(left: NonNullable<RunSummary['leftUnheard']>, dryRun: boolean, reroute: boolean, rollback?: RolledBack): string {
  const where = reroute ? 'this Redis' : 'the source';
  const named = `${left.queues.map((q) => `${displayName(q.queue)} ${n(q.jobs)}`).join(' · ')}${left.total > left.queues.length ? ` · … and ${n(left.total - left.queues.length)} more` : ''}`;
  const why =
    left.liveProcesses > 0
      ? `${noneOfTheLive(left, where)} listens to them, so those jobs never run as things stand`
      : `no live Sidekiq process runs on ${where} and the routing retires those queues, so once Sidekiq runs on it those jobs never run`;
  // A rollback's cannot be put back by it (the samples say why), run again or with --unmapped quarantine (which changes nothing in a rollback).
  const todo = rollback
    ? `Give those queues a listener, or move those jobs by hand to the queue each came from before ${rolledBackRun(rollback)} (the samples say why this rollback cannot put them back; drain-check: orphans).`
    : reroute
      ? 'Route their class (catalog, rules or mapping) and run again, run again with --unmapped quarantine, or give those queues a listener (drain-check: orphans).'
      : 'Give those queues a listener on the source, or move or delete those jobs by hand (drain-check of the source: orphans).';
  const unchecked = left.unchecked ? ` ${n(left.unchecked.jobs)} more job(s) left in place on ${n(left.unchecked.queues)} more queue(s) were not checked (a summary names only so many): drain-check counts them.` : '';
  return `Nobody fetches from ${n(left.total)} queue(s) ${thisOne(rollback)} ${dryRun ? 'would leave' : 'left'} jobs in place on (${named}): ${why}. ${todo}${unchecked}`;
}

/**
 * Set entries left in place naming queues nobody fetches from (summarize-step.ts leftUnheardInSets):
 * a re-route's, or the other classes' a selective transfer read on the source. For "Needs a look":
 * they land there when due, and never run as things stand.
 */
function leftUnheardInSetsWarning(left: NonNullable<RunSummary['leftUnheardInSets']>, dryRun: boolean, reroute: boolean, conflicts: number, rollback?: RolledBack): string {
  const named = `${left.queues.map((q) => `${displayName(q.queue)} ${n(q.jobs)}`).join(' · ')}${left.total > left.queues.length ? ` · … and ${n(left.total - left.queues.length)} more` : ''}`;
  const entries = left.queues.reduce((sum, q) => sum + q.jobs, 0);
  const atLeast = left.total > left.queues.length ? 'at least ' : '';
  const why =
    left.liveProcesses > 0
      ? `${noneOfTheLive(left, reroute ? 'this Redis' : 'the source')} listens to them, so when those entries come due (a dead one: when retried) they land there and never run as things stand`
      : 'no live Sidekiq process runs on this Redis and the routing retires those queues, so once Sidekiq runs on it those entries land there when due (a dead one: when retried) and never run';
  // A transfer's: entries of classes it did not select, on the source, pushed there by the source's poller.
  const todo = rollback
    ? `Give those queues a listener, or move those entries by hand to the queue each named before ${rolledBackRun(rollback)} (the samples say why this rollback cannot put them back; drain-check: "for queues nobody fetches" per set).`
    : reroute
    ? 'Route their class (catalog, rules or mapping) and run again, or give those queues a listener (drain-check: "for queues nobody fetches" per set).'
    : 'Give those queues a listener on the source, or move or delete those entries by hand (drain-check of the source: "for queues nobody fetches" per set).';
  const unchecked = left.unchecked ? ` ${n(left.unchecked.jobs)} more such entries naming other queues were not checked (a summary names only so many): drain-check counts them.` : '';
  // The originals of conflicts count there too (set-page.ts): routing them again does not move them.
  const duplicates =
    conflicts > 0
      ? ` The originals of ${thisOne(rollback)}'s ${n(conflicts)} conflict(s) may be among them: the same job is in its set already under its new queue, so no run moves them; delete them by hand once checked.`
      : '';
  return `Nobody fetches from ${n(left.total)} queue(s) that ${atLeast}${n(entries)} schedule, retry or dead entries ${thisOne(rollback)} ${dryRun ? 'would leave' : 'left'} in place name (${named}): ${why}. ${todo}${duplicates}${unchecked}`;
}

/**
 * Unparsable set entries left in place (summarize-step.ts leftInSetsUnreadable; a selective transfer's never taken): they
 * name no queue it can read, so whether they would land where nobody fetches is not known.
 */
function leftInSetsUnreadableWarning(jobs: number, dryRun: boolean, rollback?: RolledBack): string {
  return `${n(jobs)} unparsable schedule, retry or dead entries ${thisOne(rollback)} ${dryRun ? 'would leave' : 'left'} in place name no queue it can read: where Sidekiq's poller would push them when due (a dead one: when retried), and whether anybody fetches there, is not known. Mend or delete them by hand (the samples of unparsable jobs show some; drain-check counts them among the entries for queues nobody fetches).`;
}

/** A transfer's target whose dead set the next death there trims (dead-set-cap.ts). */
function deadSetWarning(over: NonNullable<RunSummary['deadSetOverCap']>, dryRun: boolean): string {
  return `${dryRun ? "A run would leave the target's dead set with" : "The target's dead set now holds"} ${n(over.entries)} entries: when the next job dies there, Sidekiq keeps only its newest ${n(SIDEKIQ_DEAD_MAX_JOBS - 1)} (dead_max_jobs, ${n(SIDEKIQ_DEAD_MAX_JOBS)} unless configured), none older than 180 days (dead_timeout_in_seconds), and drops the oldest ${over.atLeast ? `${n(over.drops)} at least` : n(over.drops)} (entries a move wrote there keep their old scores, so they go first). Retry or export the ones you need before then, or raise dead_max_jobs on the target's Sidekiq.`;
}

/** The verdict's clause for deadSetWarning: the run moved everything, and Sidekiq will drop some of it. */
function deadSetTail(over: RunSummary['deadSetOverCap']): string {
  return over ? `, but the next job that dies on the target drops the oldest ${n(over.drops)} entries of its dead set (see "Needs a look" above)` : '';
}

/** The verdict's clause for jobs put where nobody fetches, or only processes that may have been killed listen: "at least" when more queues than named. */
function unheardTail(unheard: RunSummary['unheard'], dryRun: boolean, silent?: RunSummary['unheardSilent']): string {
  if (!unheard && !silent) return '';
  const go = dryRun ? 'would go' : 'went';
  const parts = [
    ...(unheard ? [`${counted(unheard)} of them ${go} to queues nobody fetches from`] : []),
    ...(silent ? [`${counted(silent)}${unheard ? '' : ' of them'} ${go} to ${SILENT_QUEUES}`] : []),
  ];
  return `${dryRun ? ';' : ', but'} ${parts.join(' and ')} (see "Needs a look" above)`;
}

/** Queues only processes not heard from listen to, as a verdict says them. */
const SILENT_QUEUES = 'queues listened to only by Sidekiq processes that may have been killed';

/** The jobs put on the named queues, "at least" when there are more queues than named. */
function counted(found: { readonly queues: readonly { readonly jobs: number }[]; readonly total: number }): string {
  return `${found.total > found.queues.length ? 'at least ' : ''}${n(found.queues.reduce((sum, q) => sum + q.jobs, 0))}`;
}

/**
 * The same count in a "Done, but …" verdict: a run that also left jobs behind (every GitLab run
 * leaves its mails) must not drop it, or its last line hides the jobs it put where nobody fetches.
 */
function unheardDoneTail(unheard: RunSummary['unheard'], silent?: RunSummary['unheardSilent']): string {
  return `${unheard ? `; and ${counted(unheard)} of the jobs moved went to queues nobody fetches from` : ''}${silent ? `; and ${counted(silent)} of the jobs moved went to ${SILENT_QUEUES}` : ''}`;
}

/** unheardDoneTail of a dry run: the jobs it would move, beside those it would leave behind. */
function unheardDryDoneTail(unheard: RunSummary['unheard'], silent?: RunSummary['unheardSilent']): string {
  return `${unheard ? `; and ${counted(unheard)} of the jobs it would move would go to queues nobody fetches from` : ''}${silent ? `; and ${counted(silent)} of the jobs it would move would go to ${SILENT_QUEUES}` : ''}`;
}

/** unheardSentence of the queues only processes not heard from listen to. */
function unheardSilentSentence(silent: NonNullable<RunSummary['unheardSilent']>): string {
  const said = counted(silent);
  return `${said.charAt(0).toUpperCase()}${said.slice(1)} of the jobs moved went to ${SILENT_QUEUES} (see "Needs a look" above).`;
}

/**
 * Queues the run put jobs on that only live Sidekiq processes not heard from for more than 3 beats
 * listen to (summarize-step.ts unheardSilent), for "Needs a look": said apart from those nobody
 * fetches from, as drain-check says such processes.
 */
function unheardSilentWarning(silent: NonNullable<RunSummary['unheardSilent']>, dryRun: boolean, reroute: boolean, rollback?: RolledBack): string {
  const where = reroute ? 'this Redis' : 'the target';
  const named = `${silent.queues.map((q) => `${displayName(q.queue)} ${n(q.jobs)}`).join(' · ')}${silent.total > silent.queues.length ? ` · … and ${n(silent.total - silent.queues.length)} more` : ''}`;
  const verb = `${rollback ? 'this rollback' : 'this run'} ${dryRun ? 'would put' : 'put'} jobs${rollback ? ' back' : ''} on`;
  return `Only Sidekiq processes not heard from for ${timeSpan(silent.silentSeconds)} (they may have been killed) listen to ${n(silent.total)} queue(s) ${verb} (${named}): none of the ${n(silent.beatingProcesses)} other live Sidekiq process(es) on ${where} listens to them, so if those were killed the jobs wait until a process fetches from those queues. Start one on them, or see docs/runbooks/redis-move.md, step 6.1 (drain-check names the processes not heard from).`;
}

/**
 * Queues the run left jobs in place on (`inSets`: that set entries it left in place name) that only
 * live Sidekiq processes not heard from for more than 3 beats listen to (summarize-step.ts
 * leftUnheardSilent, leftInSetsUnheardSilent), for "Needs a look": said apart from those nobody
 * fetches from (leftUnheardWarning), as unheardSilentWarning says the queues jobs went to.
 */
function leftUnheardSilentWarning(silent: NonNullable<RunSummary['leftUnheardSilent']>, dryRun: boolean, reroute: boolean, inSets: boolean, rollback?: RolledBack): string {
  const where = reroute ? 'this Redis' : 'the source';
  const named = `${silent.queues.map((q) => `${displayName(q.queue)} ${n(q.jobs)}`).join(' · ')}${silent.total > silent.queues.length ? ` · … and ${n(silent.total - silent.queues.length)} more` : ''}`;
  const leave = dryRun ? 'would leave' : 'left';
  const what = inSets ? `that ${counted(silent)} schedule, retry or dead entries ${thisOne(rollback)} ${leave} in place name` : `${thisOne(rollback)} ${leave} jobs in place on`;
  const then = inSets ? 'those entries land there when due and never run' : 'those jobs never run as things stand';
  return `Only Sidekiq processes not heard from for ${timeSpan(silent.silentSeconds)} (they may have been killed) listen to ${n(silent.total)} queue(s) ${what} (${named}): none of the ${n(silent.beatingProcesses)} other live Sidekiq process(es) on ${where} listens to them, so if those were killed ${then}. See docs/runbooks/redis-move.md, step 6.1 (drain-check names the processes not heard from).`;
}

/** The same, as a sentence of its own (the verdict of a move that left jobs on the source). */
function unheardSentence(unheard: NonNullable<RunSummary['unheard']>): string {
  const jobs = unheard.queues.reduce((sum, q) => sum + q.jobs, 0);
  return `${unheard.total > unheard.queues.length ? 'At least ' : ''}${n(jobs)} of the jobs moved went to queues nobody fetches from (see "Needs a look" above).`;
}

/**
 * A transfer's `duplicates`, said as what they are: jobs the run's ledger knew as written when a
 * slice wrote them again (an attempt of it wrote them and its acknowledge failed, or its answer
 * was lost; or an interrupted run did, whose jobs in flight this one took up). Not jobs the user
 * had twice, nor jobs dropped: each is on the target once. Where, by set and queue (bounded).
 */
function writtenBefore(summary: RunSummary, verbose: boolean): string {
  const t = summary.totals as TransferCounters;
  const items = [
    ...Object.entries(summary.sets).map(([set, c]) => [set, (c as TransferCounters).duplicates ?? 0] as const),
    ...Object.entries(summary.queues).map(([q, c]) => [`queue:${displayName(q)}`, (c as TransferCounters).duplicates ?? 0] as const),
  ].filter(([, v]) => v > 0);
  const named = verbose ? items : items.slice(0, NAMED_SHOWN);
  const taken = summary.resumed?.duplicates ?? 0;
  const where = [
    ...named.map(([k, v]) => `${k} ${n(v)}`),
    ...(items.length > named.length ? [`… and ${n(items.length - named.length)} more`] : []),
    ...(taken > 0 ? [`left in flight by an interrupted run, written by it before it stopped ${n(taken)}`] : []),
  ].join(' · ');
  return `Written before: ${n(t.duplicates)} job(s) were on the target already, written by this run in an attempt whose acknowledge failed or whose answer was lost${where ? ` (${where})` : ''}. They were not written again: each is on the target once. Counted under "written before", not "written".`;
}

/**
 * Attempts of page tasks that may have moved jobs no counter counts (RerouteCounters.uncountedAttempts):
 * the counts are not presented as exact, and the operator is told where to look instead.
 */
function countsMayBeShortWarning(attempts: number, reroute: boolean): string {
  const as = reroute ? 'those a retried page saw moved already are counted as "already"' : 'those a retried slice found written already are counted as "written before"';
  return `Counts may be short: ${n(attempts)} attempt${attempts === 1 ? '' : 's'} of a page task may have moved jobs these counts do not include (an attempt retried while it still ran or after it ran out of time, a page call whose reply was lost, or a task that failed for good after its pages ran); ${as}, the others not at all. Every job was moved once all the same: look at the keys, not at the counts (drain-check; LLEN of the queues, ZCARD of the sets).`;
}

/**
 * Jobs sent to a new queue with a sidekiq-unique-jobs digest: from the gem's 8.0.8 on, client and
 * server compute the digest again, with the queue in it (docs/guarantees-and-limits.md).
 */
function uniqueLockWarning(count: number, dryRun: boolean): string {
  const moved = dryRun ? 'would be sent' : 'were sent';
  return `Uniqueness locks: ${count.toLocaleString('en-US')} job(s) that ${moved} to a new queue carry a sidekiq-unique-jobs digest (lock_digest/unique_digest). With sidekiq-unique-jobs 8.0.8 or later they run under the new queue's digest: the lock taken at push stays until it expires, and a push still made to the old queue is dropped as a duplicate meanwhile (unique_across_queues avoids both; see docs/guarantees-and-limits.md, "Uniqueness locks").`;
}

/** What this run quarantined, by the queue the jobs came from (the summary's counts, then the items it does not list). */
function quarantinedByQueue(summary: RunSummary, view: SummaryView): Map<string, number> {
  const ours = new Map<string, number>();
  for (const [queue, c] of Object.entries(summary.queues)) ours.set(queue, asRecord(c)['quarantined'] ?? 0);
  for (const item of view.items ?? []) if (item.kind === 'queue' && !ours.has(item.name)) ours.set(item.name, asRecord(item.counters)['quarantined'] ?? 0);
  return ours;
}

/**
 * The verdict of an execution a later start superseded: it names what to do, follow the later
 * execution, on the line itself (the execution's ARN stood only on the "Needs a look" line above,
 * and the verdict said only that "a later execution" carries the run on). On AWS by its ARN, with
 * `watch`; a local run's executions (named after the local state machine) are followed by the
 * command that started them, which prints their summary; an execution the lock did not name
 * (laterPlannedBy unknown) is found with `list` when
 * deployed, by the command that started it when local (`list` knows only the deployed state
 * machine; the summary does not tell which this is).
 */
export function supersededVerdict(runId: string, laterArn: string | undefined): string {
  const then = 'its summary says when the run is complete';
  if (laterArn === undefined) return `Not complete here: a later execution of run ${runId} carries the run on. Follow it: deployed, find it with sidekiq-migrate list, then sidekiq-migrate watch it; run locally, in the output of the command that started it; ${then}.`;
  // A local execution's name is a random id the user never saw: the command is what they know it by.
  if (laterArn.includes(`:execution:${LOCAL_STATE_MACHINE_NAME}:`)) return `Not complete here: a later execution of run ${runId} carries the run on. Follow it in the output of the command that started it: ${then}.`;
  return `Not complete here: a later execution of run ${runId} carries the run on. Follow it with: sidekiq-migrate watch ${laterArn}; ${then}.`;
}
