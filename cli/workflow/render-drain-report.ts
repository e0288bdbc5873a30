import { MAX_CRON_DEFINITIONS } from '../../core/cron/cron-definitions.js';
import type { DrainReport } from '../../core/drain/drain-report.js';
import { dormantEntries } from '../../core/drain/judge-drain.js';
import { timeSpan } from '../../core/drain/time-span.js';
import { SILENT_BEATS } from '../../core/drain/live-processes.js';
import { evictionWarning } from '../../core/redis/eviction-policy.js';
import { displayName, displayText } from '../../core/redis/key-name.js';
import { describePrefix } from '../../core/redis/sidekiq-prefixes.js';
import { count as n, shorten } from './fit.js';

const age = (seconds: number | null) => (seconds === null ? '-' : timeSpan(seconds));

const CRON_LINES = 20;
// At GitLab's scale (one queue per worker, thousands of queues) the whole table would bury the
// verdict: beyond this many, the queues that matter most are shown (queuesShown), --json has all.
const QUEUE_LINES = 40;
// Lines of a list (private lists, quarantine lists, in-flight keys) before `… and N more`.
const LIST_LINES = 20;
// The queue table fits 80 columns: its numbers take 22 and the listeners column at least 9 (more
// when a cell says listeners not heard from apart, `0 (+1 silent)`), a longer name is cut in the
// middle (GitLab's queue names reach 100 characters); the reasons and --json name every queue in full.
const TABLE_WIDTH = 80;
const NUMBERS_WIDTH = 22;
const LISTENERS = 'listeners';

/**
 * A queue's listeners cell: NONE, the live processes that beat, and those not heard from for
 * more than SILENT_BEATS beats apart (they may have been killed): `0 (+1 silent)`.
 */
function listenersCell(q: DrainReport['queues'][number]): string {
  if (q.listeners === 0) return 'NONE';
  const silent = q.silentListeners ?? 0;
  return silent > 0 ? `${q.listeners - silent} (+${silent} silent)` : String(q.listeners);
}

/**
 * Whether what the check counted is only a floor: queues or workers' lists not all read, or a look
 * over the keyspace its time stopped (jobs where it did not reach are not counted). Said in the
 * headline, which alerts and greps read alone, as the reasons below it say it.
 */
function countIsAFloor(report: DrainReport): boolean {
  return report.fetchedListsCutShort !== undefined || report.queuesCutShort !== undefined || report.keyspaceLookCutShort !== undefined;
}

/**
 * What the check did not read, when its count is a floor (countIsAFloor): said in the headline in
 * place of "at least 0", which read as a count where nothing was counted.
 */
function notAllRead(report: DrainReport): string {
  const count = (v: number) => v.toLocaleString('en-US');
  return [
    ...(report.queuesCutShort ? [`${count(report.queuesCutShort.queues - report.queuesCutShort.read)} of the ${count(report.queuesCutShort.queues)} queues`] : []),
    ...(report.keyspaceLookCutShort?.looks ?? []),
    ...(report.fetchedListsCutShort ? [`workers' private lists past the first ${count(report.fetchedListsCutShort.read)}`] : []),
    ...setsReadInPart(report).map(([name, s]) => (s.readBeforeTimeRanOut !== undefined ? `${name} entries past the first ${count(s.readBeforeTimeRanOut)} of ${count(s.total)}` : `${name} entries past what a check counts, of ${count(s.total)}`)),
  ].join(', ');
}

/**
 * The sets whose entries count in `remaining` (schedule and retry: they come due onto their queues
 * by themselves; dead and interrupted entries never do) read in part (orphanedEstimated: by the
 * check's time, or past its count limit): what they hold is extrapolated from the entries read,
 * so an estimate of none is not a count of none.
 */
function setsReadInPart(report: DrainReport): [string, DrainReport['sets'][keyof DrainReport['sets']]][] {
  return Object.entries(report.sets).filter(([name, s]) => (name === 'schedule' || name === 'retry') && s.orphanedEstimated);
}

/** The human view of a drain check: the verdict first, then what it rests on. */
export function renderDrainReport(report: DrainReport): string {
  const v = report.verdict;
  const rate = v.ratePerSecond === undefined ? '' : `, ${v.ratePerSecond.toFixed(1)} jobs/s`;
  const eta = v.etaSeconds === undefined ? '' : `, empty in about ${age(v.etaSeconds)}`;
  // The verdict is this prefix's: jobs under another prefix of the same Redis are said in the
  // same line, so that "DRAINED" is never read as "nothing left on this Redis".
  const elsewhere = (report.otherPrefixes ?? []).reduce((n, p) => n + p.jobs, 0);
  const hidden = (report.otherPrefixes ?? []).reduce((n, p) => n + (p.unreadable ?? 0), 0);
  const unread = hidden > 0 ? `${elsewhere > 0 ? ', with' : '; other prefixes hold'} ${hidden} key(s) this user may not read` : '';
  const scope = elsewhere > 0 || hidden > 0 ? ` under ${describePrefix(report.prefix ?? '')}${elsewhere > 0 ? `, and ${elsewhere} under other prefixes` : ''}${unread} (below)` : '';
  // Dead and interrupted entries never run by themselves and do not count in `remaining`; a line
  // saying "0 job(s) left" over them read as an empty Redis, one an operator may flush.
  // Scoped to retired queues, only those naming one of them (dormantEntries).
  const entries = dormantEntries(report);
  const dormant = v.state === 'drained' ? entries.dead + entries.interrupted : 0;
  const kept = dormant > 0 ? `; ${dormant} dead or interrupted entries that never run by themselves (below)` : '';
  // Scoped to retired queues, the count is theirs (and every job in flight or quarantined): said in
  // the line itself, which alerts and greps read alone, so that "0 job(s) left" is not read as an empty Redis.
  const held = report.inflight.some((l) => l.size > 0) || (report.quarantine ?? []).some((l) => l.size > 0);
  const only = report.retiredQueues
    ? ` of the ${report.retiredQueues.length} retired queue(s) only (jobs of other queues are not counted${held ? ', save those in flight or quarantined' : ''})`
    : '';
  // A floor of jobs counted: "at least N"; none counted, what was not read (at the line's end).
  const floor = countIsAFloor(report);
  // None counted with a set read in part: "0 job(s) left" was an estimate of none from the entries
  // read, said as a count; what was not read is said instead, as for a floor.
  const noneOfAll = report.remaining === 0 && (floor || setsReadInPart(report).length > 0);
  const counted = noneOfAll ? '0 job(s) counted' : `${floor ? 'at least ' : ''}${report.remaining} job(s) left${dormant > 0 ? ' to run' : ''}`;
  const notRead = noneOfAll ? `; not all read: ${notAllRead(report)} (see below)` : '';
  const lines = [`${report.redis}: ${v.state.toUpperCase()} — ${counted}${only}${scope}${rate}${eta}${kept}${notRead}${report.noSidekiqData ? ": no Sidekiq data at all there (no queue, set, process or statistic of Sidekiq's, under any prefix or in another database): check that this is the Redis you meant (host, port, /db)" : ''}`];
  for (const reason of v.reasons) lines.push(`  - ${displayText(reason)}`);
  // What the check saw of the move's target when it kept its id (a loss is the first reason above).
  const moved = report.moveTarget;
  if (moved && !moved.lost) lines.push(`Target of run ${moved.runId}: ${moved.target} still carries the target id ${moved.plannedId} the run found there (it did not restart empty, nor was flushed, since).`);
  if (report.maxmemoryPolicy !== undefined) {
    lines.push(`maxmemory-policy: ${report.maxmemoryPolicy ?? 'not reported'}`);
    const warning = evictionWarning(report.redis, report.maxmemoryPolicy);
    if (warning) lines.push(warning);
  }
  lines.push('', `Sidekiq processes: ${report.processes.live} live, ${report.processes.quiet} quiet, ${report.processes.stale} gone or stale`);
  if (report.queues.length > 0) {
    const shown = queuesShown(report.queues);
    const cellWidth = Math.max(LISTENERS.length, ...shown.map((q) => listenersCell(q).length));
    const width = Math.min(TABLE_WIDTH - NUMBERS_WIDTH - cellWidth, Math.max(5, ...shown.map((q) => displayName(q.queue).length)));
    lines.push('', `${'Queue'.padEnd(width)}  ${'depth'.padStart(8)}  ${'oldest'.padStart(8)}  ${LISTENERS}`);
    for (const q of shown) {
      const arrivals = q.arrivedSinceLastCheck ? `  (${q.arrivedSinceLastCheck} arrived since last check)` : '';
      lines.push(`${shorten(displayName(q.queue), width).padEnd(width)}  ${String(q.depth).padStart(8)}  ${age(q.oldestAgeSeconds).padStart(8)}  ${listenersCell(q)}${arrivals}`);
    }
    const hidden = report.queues.length - shown.length;
    if (hidden > 0) {
      const jobs = report.queues.reduce((sum, q) => sum + q.depth, 0) - shown.reduce((sum, q) => sum + q.depth, 0);
      lines.push(`… and ${n(hidden)} more queues holding ${n(jobs)} job(s) (--json lists every one)`);
    }
  }
  lines.push('');
  const setWidth = Math.max(9, ...Object.keys(report.sets).map((name) => name.length));
  for (const [name, s] of Object.entries(report.sets)) {
    // Cut by the check's time, not its count limit: said as such (a set of 3,000 was "more than a check counts").
    const est = !s.orphanedEstimated ? '' : s.readBeforeTimeRanOut !== undefined ? ` (estimated: the check's time ran out after ${s.readBeforeTimeRanOut} entries)` : ' (estimated: more entries than a check counts)';
    const retired = report.retiredQueues ? `, ${s.toRetiredQueues} for retired queues` : '';
    lines.push(`${name.padEnd(setWidth)} ${String(s.total).padStart(8)} total, ${s.dueWithinHour} due within the hour, ${s.orphaned} for queues nobody fetches${retired}${est}`);
  }
  for (const p of (report.otherPrefixes ?? []).filter((o) => o.jobs > 0 || (o.unreadable ?? 0) > 0)) {
    const silent = p.silentProcesses ?? 0;
    const runners =
      p.jobs === 0 || p.liveProcesses === undefined
        ? ''
        : p.liveProcesses === 0
          ? ', where no Sidekiq process runs: nobody will run them'
          : silent === 0
            ? `, where ${p.liveProcesses} live Sidekiq process(es) run`
            : silent >= p.liveProcesses
              ? `, where the only live Sidekiq process(es) (${silent}) have not been heard from for more than ${SILENT_BEATS} beats: they may have been killed`
              : `, where ${p.liveProcesses - silent} live Sidekiq process(es) run, and ${silent} more not heard from for more than ${SILENT_BEATS} beats`;
    const held = (p.held ?? 0) > 0 ? `; ${p.held} of them in flight from an interrupted transfer or quarantined, which no Sidekiq runs` : '';
    const where = p.prefix === '' ? 'no prefix' : `the prefix "${p.prefix}"`;
    const hidden = p.unreadable ? `${p.jobs > 0 ? '; and' : ''} ${p.unreadable} Sidekiq key(s) ${p.jobs > 0 ? 'there ' : `under ${where} `}that this user may not read (its ACL covers other keys): what they hold is not known here` : '';
    const counted = p.jobs > 0 ? ` ${p.jobs} job(s) under ${where}${runners}${held}` : '';
    lines.push('', `Also on this Redis, not counted above:${counted}${hidden} (check them with --namespace${p.unreadable ? ', as a user that may read them' : ''}).`);
  }
  const cron = report.cron ?? [];
  if (cron.length > 0) {
    // A move carries them only when asked (--cron); left on a Redis that Sidekiq still runs against, they push there.
    const count = report.cronUnread ? `${cron.length} read of the ${cron.length + report.cronUnread} on this Redis (this check reads the first ${MAX_CRON_DEFINITIONS}; ${report.cronUnread} not read)` : `${cron.length}`;
    lines.push('', `sidekiq-cron definitions: ${count} (each pushes to its queue on schedule while a Sidekiq process runs here):`);
    for (const c of cron.slice(0, CRON_LINES)) {
      const silent = c.silentListeners ?? 0;
      const fetched =
        c.queue === null
          ? `queue unknown: ${c.queueUnknown ?? 'message unreadable'}`
          : c.listeners === 0
            ? 'nobody listens'
            : silent === 0
              ? `${c.listeners} listening`
              : silent >= c.listeners
                ? `listened to only by ${silent} Sidekiq process(es) not heard from for more than ${SILENT_BEATS} beats: they may have been killed`
                : `${c.listeners - silent} listening, and ${silent} not heard from for more than ${SILENT_BEATS} beats`;
      lines.push(`  ${c.name} → ${c.queue ?? '?'} (${fetched})${c.enabled ? '' : ' [disabled]'}`);
    }
    if (cron.length > CRON_LINES) lines.push(`  … and ${cron.length - CRON_LINES} more (--json lists every one)`);
  }
  if ((report.quarantine ?? []).length > 0) {
    lines.push('', 'In quarantine lists (nobody fetches them; put them back on a queue or delete them by hand):');
    const quarantine = report.quarantine ?? [];
    for (const l of quarantine.slice(0, LIST_LINES)) lines.push(`  ${displayName(l.key)}: ${l.size} job(s)`);
    if (quarantine.length > LIST_LINES) lines.push(`  … and ${n(quarantine.length - LIST_LINES)} more (--json lists every one)`);
  }
  const fetched = report.fetched ?? [];
  if (fetched.length > 0) {
    lines.push('', "Taken by workers, not finished (fetchers' private lists; they go back to their queue here if the worker dies):");
    // The check reads at most FETCHER_LIST_LIMIT of them: then its counts are a floor.
    const stop = report.fetchedListsCutShort;
    if (stop) lines.push(`  (the first ${n(stop.read)} lists found were read; there may be more, and more jobs in them than counted here)`);
    for (const l of fetched.slice(0, LIST_LINES)) lines.push(`  ${displayName(l.key)}: ${l.size} job(s), ${!l.ownerAlive ? 'worker gone' : l.ownerSilentSeconds === undefined ? 'worker alive' : `worker not heard from for ${age(l.ownerSilentSeconds)}, it may have been killed`}`);
    if (fetched.length > LIST_LINES) lines.push(`  … and ${n(fetched.length - LIST_LINES)} more (--json lists every one)`);
  }
  if (report.inflight.length > 0) {
    lines.push('', 'In flight from interrupted transfers (run the transfer again):');
    for (const l of report.inflight.slice(0, LIST_LINES)) lines.push(`  ${displayName(l.key)}: ${l.size} job(s), run ${displayName(l.runId)}`);
    if (report.inflight.length > LIST_LINES) lines.push(`  … and ${n(report.inflight.length - LIST_LINES)} more (--json lists every one)`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The queues of the table: every one, by name, up to QUEUE_LINES; beyond, the ones that matter
 * most to the verdict: jobs nobody listens to first, then the deepest, then jobs arriving.
 */
function queuesShown(queues: DrainReport['queues']): DrainReport['queues'] {
  if (queues.length <= QUEUE_LINES) return queues;
  const orphaned = (q: DrainReport['queues'][number]) => (q.depth > 0 && q.listeners === 0 ? 1 : 0);
  return [...queues]
    .sort((a, b) => orphaned(b) - orphaned(a) || b.depth - a.depth || (b.arrivedSinceLastCheck ?? 0) - (a.arrivedSinceLastCheck ?? 0))
    .slice(0, QUEUE_LINES);
}
