import { MAX_CRON_DEFINITIONS } from '../cron/cron-definitions.js';
import { KEYSPACE_LOOKS, type CronState, type DrainReport } from './drain-report.js';
import type { FetcherList } from './fetcher-lists.js';
import { SILENT_BEATS } from './live-processes.js';
import { displayName, printable } from '../redis/key-name.js';
import { moveTargetLostReason } from './move-target.js';
import { timeSpan } from './time-span.js';

/**
 * The verdict of a drain check:
 * - `drained`: nothing queued, scheduled, waiting to retry or in flight (dead entries are named
 *   but do not block: they never run unless someone retries them), every set entry counted (a set
 *   beyond the count limit is estimated, and never called drained);
 * - `stuck`: jobs nobody will run (orphans, quarantined jobs, jobs in the private lists of gone
 *   workers when no live process is left to return them), in-flight leftovers, retired queues
 *   still receiving jobs, or work that is ready now and did not shrink since the previous check;
 * - `stuck` too, whatever is left, when the check was given a move out of this Redis whose target
 *   lost its data since (move-target.ts);
 * - `draining`: otherwise, with the rate and an estimated time to empty when a previous check is
 *   given. Entries due in the future are not "no progress": the Redis is draining until the last
 *   of them is due, and the estimate is at least that long.
 *
 * `setsReadAt` (epoch seconds): when the sets the report holds were read, from which "the last
 * due in" is reckoned; the check's start unless it read them again later (confirm-drained.ts,
 * after a wait of up to 30 s for the heartbeats).
 */
export function judgeDrain(report: Omit<DrainReport, 'verdict'>, previous?: DrainReport, setsReadAt: number = report.checkedAt): DrainReport['verdict'] {
  const verdict = judgeOthers(report, previous, setsReadAt);
  // The move's target lost what it moved (move-target.ts): said first, and never drained, whatever
  // is left here: the jobs are neither here nor there.
  if (!report.moveTarget?.lost) return verdict;
  return { ...verdict, state: 'stuck', reasons: [moveTargetLostReason(report.moveTarget), ...verdict.reasons] };
}

function judgeOthers(report: Omit<DrainReport, 'verdict'>, previous: DrainReport | undefined, setsReadAt: number): DrainReport['verdict'] {
  const verdict = judgeThisPrefix(report, previous, setsReadAt);
  // Not this check's scope, but never hidden: jobs under another prefix of the same Redis.
  const elsewhere = (report.otherPrefixes ?? []).filter((p) => p.jobs > 0 || (p.unreadable ?? 0) > 0);
  if (elsewhere.length === 0) return verdict;
  // Keys an ACL hides from this user (`~gitlab:*`): their jobs are unknown, never taken for none.
  const hidden = (p: (typeof elsewhere)[number]) => (p.unreadable ? ` counted, ${p.unreadable} key(s) this user may not read` : '');
  // Jobs workers took there: a move does not carry them, a fetcher running under that prefix puts them back.
  const taken = (p: (typeof elsewhere)[number]) => (p.taken ? ` (${p.taken} in reliable-fetch working lists, which no move carries: check them with --namespace)` : '');
  const named = elsewhere.map((p) => `${p.prefix === '' ? 'no prefix' : `"${p.prefix}"`}: ${p.jobs}${taken(p)}${hidden(p)}`).join(', ');
  const unrun = unrunElsewhere(report);
  const where = (p: { prefix: string }) => (p.prefix === '' ? 'no prefix' : `"${p.prefix}"`);
  const nobody =
    unrun.length > 0
      ? `; ${unrun.map((p) => `${runnable(p) > 0 && p.liveProcesses === 0 ? `${runnable(p) + (p.held ?? 0)} under ${where(p)}, where no Sidekiq process runs` : `${p.held} under ${where(p)} in flight from an interrupted transfer or quarantined`}`).join(', ')}, will never run as things stand (exit code 3)`
      : '';
  return {
    ...verdict,
    reasons: [
      ...verdict.reasons,
      `jobs under another prefix of this Redis, not counted here (${named})${nobody}: ${otherPrefixAdvice(elsewhere)}`,
    ],
  };
}

/**
 * What to do with jobs under other prefixes. Carrying them onto the checked prefix is advice for
 * jobs no Sidekiq runs where they are (GitLab's resque:gitlab: leftovers, seen from the unprefixed
 * keys); given for jobs that live processes run (the unprefixed keys, seen from the old prefix
 * after the namespace move), it would take them from those processes to where nobody may fetch.
 */
function otherPrefixAdvice(elsewhere: NonNullable<DrainReport['otherPrefixes']>): string {
  if (elsewhere.some((p) => runnable(p) > 0 && p.liveProcesses === 0)) {
    return "check them with --namespace, or carry them onto this prefix with move --from URL --to URL --namespace OTHER --to-namespace THIS (GitLab's namespace move leaves resque:gitlab: leftovers)";
  }
  const named = (p: { prefix: string }) => (p.prefix === '' ? 'no prefix' : `"${p.prefix}"`);
  // Where every live process is one not heard from for several beats (it may have been killed), none is said to run them.
  const onlySilent = (p: (typeof elsewhere)[number]) => (p.silentProcesses ?? 0) >= (p.liveProcesses ?? 0);
  const withJobs = elsewhere.filter((p) => runnable(p) > 0 && (p.liveProcesses ?? 0) > 0);
  const run = withJobs.filter((p) => !onlySilent(p)).map(named);
  const silent = withJobs.filter(onlySilent).map(named);
  const clauses = [
    ...(run.length > 0 ? [`${run.join(', ')}: live Sidekiq processes run them there, so leave them there`] : []),
    ...(silent.length > 0 ? [`${silent.join(', ')}: run there only by Sidekiq processes not heard from for more than ${SILENT_BEATS} beats, which may have been killed; if they were, nobody runs them: see docs/runbooks/redis-move.md, step 6.1`] : []),
  ];
  return `check them with --namespace${clauses.length > 0 ? ` (${clauses.join('; ')})` : ''}`;
}

/**
 * Other prefixes with jobs nobody runs: jobs there and no live Sidekiq process under that prefix,
 * or jobs in our in-flight or quarantine keys there, which no Sidekiq runs either way (a report of
 * an older version, which counted neither, names none). Retiring or flushing this Redis would
 * lose them, whatever the checked prefix's verdict.
 */
export function unrunElsewhere(report: Omit<DrainReport, 'verdict'>): NonNullable<DrainReport['otherPrefixes']> {
  return (report.otherPrefixes ?? []).filter((p) => (runnable(p) > 0 && p.liveProcesses === 0) || (p.held ?? 0) > 0);
}

/**
 * How many jobs on this Redis nobody will run as things stand, under any prefix: orphans,
 * quarantined jobs, jobs in flight from interrupted transfers, jobs taken by workers that are gone
 * with no live process left to return them, and another prefix's such jobs (unrunElsewhere).
 * Retiring the Redis loses them whatever the checked scope's verdict says: the CLI exits 3 on them
 * and the deployed drain check publishes them (`UnrunJobs`), which keeps the `…-drained` alarm off.
 */
export function jobsNobodyWillRun(report: Omit<DrainReport, 'verdict'>): number {
  const sum = (sizes: readonly { size: number }[]) => sizes.reduce((n, l) => n + l.size, 0);
  const elsewhere = unrunElsewhere(report).reduce((n, p) => n + (p.liveProcesses === 0 ? Math.max(0, runnable(p)) : 0) + (p.held ?? 0), 0);
  return report.orphans.total + sum(report.quarantine ?? []) + sum(report.inflight) + sum(abandonedForGood(report)) + elsewhere;
}

/** Jobs under another prefix that a Sidekiq there would run: not ours in flight, not dead (dead jobs do not block here either). */
const runnable = (p: NonNullable<DrainReport['otherPrefixes']>[number]) => p.jobs - (p.held ?? 0) - (p.dormant ?? 0);

function judgeThisPrefix(report: Omit<DrainReport, 'verdict'>, previous: DrainReport | undefined, setsReadAt: number): DrainReport['verdict'] {
  const reasons: string[] = [];
  const cronToRetired = cronPushingToRetiredQueues(report);
  if (cronToRetired.length > 0) {
    reasons.push(
      `${cronToRetired.length} sidekiq-cron definition(s) still push to retired queues (${firstNamed(cronToRetired.map((c) => `${c.name} → ${c.queue}`))}): restart Sidekiq with the new rules (GitLab saves its cron definitions at boot) or run with --rewrite-cron`,
    );
    return { state: 'stuck', reasons: [...reasons, ...judgeJobs(report, previous, setsReadAt).reasons] };
  }
  return judgeJobs(report, previous, setsReadAt);
}

/**
 * Enabled sidekiq-cron definitions whose queue is one of the retired queues: cron keeps pushing
 * there until the definitions are saved again, so jobs will keep landing where nobody fetches.
 */
export function cronPushingToRetiredQueues(report: Omit<DrainReport, 'verdict'>): CronState[] {
  const retired = new Set(report.retiredQueues ?? []);
  return (report.cron ?? []).filter((c) => c.enabled && c.queue !== null && retired.has(c.queue));
}

/**
 * Private lists of fetchers whose worker is gone, when no live process is left here to put their
 * jobs back: only a fetching process of the same fetcher does (GitLab's reliable fetcher in its
 * cleanup, under an hourly lease; super_fetch when a process starts), so nobody will.
 */
export function abandonedForGood(report: Omit<DrainReport, 'verdict'>): FetcherList[] {
  return report.processes.live > 0 ? [] : (report.fetched ?? []).filter((l) => !l.ownerAlive);
}

/** Where a report's orphans wait: ` (queues nobody listens to: a, b)`, or nothing when only set entries are. */
function orphanPlaces(report: Omit<DrainReport, 'verdict'>): string {
  const places: string[] = [];
  if (report.orphans.queues.length > 0) places.push(`queues nobody listens to: ${firstNamed(report.orphans.queues.map(displayName))}`);
  // Set entries name no list of their own: said per set, or the operator looks for a queue to
  // give a listener and finds none. An unparsable one no listener ever runs: said apart.
  const sets = (['schedule', 'retry'] as const).filter((s) => report.sets[s].orphaned > 0);
  if (sets.length > 0) {
    const unparsable = sets.reduce((n, s) => n + (report.sets[s].unparsable ?? 0), 0);
    const deleteThem = unparsable > 0 ? `; ${unparsable} of them unparsable, naming no queue, which Sidekiq drops when due and no listener runs: look at them with ZRANGE and delete them by hand` : '';
    places.push(`schedule or retry entries naming a queue nobody listens to: ${sets.map((s) => `${s} ${report.sets[s].orphaned}`).join(', ')}${deleteThem}`);
  }
  return places.length > 0 ? ` (${places.join('; ')})` : '';
}

/**
 * The `dead` and `interrupted` entries a drained verdict names (they never run by themselves):
 * all of them, or, in a check scoped to retired queues, those naming one of those queues.
 */
export function dormantEntries(report: Omit<DrainReport, 'verdict'>): { dead: number; interrupted: number } {
  const scoped = report.retiredQueues !== undefined;
  const of = (set: DrainReport['sets']['dead'] | undefined) => (set === undefined ? 0 : scoped ? set.toRetiredQueues : set.total);
  return { dead: of(report.sets.dead), interrupted: of(report.sets.interrupted) };
}

/**
 * The schedule and retry entries a verdict waits for. Unscoped, the future ones. Scoped to
 * retired queues, every one naming them, due or not (a check has no count of those due): never
 * said to come due later when the last was due already.
 */
function waitingReason(waiting: number, waitSeconds: number, scoped: boolean): string {
  const seconds = Math.round(waitSeconds);
  if (!scoped) return `${waiting} scheduled or retrying job(s) come due later, the last in ${timeSpan(seconds)}`;
  if (seconds > 0) return `${waiting} scheduled or retrying job(s) name retired queues, the last due in ${timeSpan(seconds)}: the migration rewrites them (run it again), or they reach those queues when due`;
  return `${waiting} scheduled or retrying job(s) name retired queues, all due now: a live Sidekiq process's poller pushes them to those queues; the migration rewrites them (run it again)`;
}

/**
 * Jobs (DrainReport.heardOnlyBySilent) and schedule or retry entries (setEntriesHeardOnlyBySilent)
 * on queues only live Sidekiq processes not heard from for several beats listen to: not orphans for
 * certain (a hung process may beat again), so said apart, whatever the verdict.
 */
function heardOnlyBySilentReasons(report: Omit<DrainReport, 'verdict'>): string[] {
  const reasons: string[] = [];
  const onlySilent = report.heardOnlyBySilent;
  if (onlySilent) {
    // Not orphans for certain (a hung process may beat again): said apart, the verdict kept.
    const named = `${onlySilent.queues.map((q) => `${displayName(q.queue)} ${q.depth}`).join(', ')}${onlySilent.total > onlySilent.queues.length ? `, and ${onlySilent.total - onlySilent.queues.length} more` : ''}`;
    reasons.push(`${onlySilent.jobs} job(s) wait on queues listened to only by Sidekiq processes not heard from for ${timeSpan(onlySilent.silentSeconds)} (they may have been killed) (${named}): if those were killed, nobody fetches them; see docs/runbooks/redis-move.md, step 6.1`);
  }
  const setsOnlySilent = report.setEntriesHeardOnlyBySilent;
  if (setsOnlySilent) {
    // Not orphans for certain either: said apart, the verdict kept.
    const named = `${setsOnlySilent.queues.map((q) => `${displayName(q.queue)} ${q.entries}`).join(', ')}${setsOnlySilent.total > setsOnlySilent.queues.length ? `, and ${setsOnlySilent.total - setsOnlySilent.queues.length} more` : ''}`;
    reasons.push(`${setsOnlySilent.atLeast ? 'at least ' : ''}${setsOnlySilent.entries} schedule or retry entries name queues listened to only by Sidekiq processes not heard from for ${timeSpan(setsOnlySilent.silentSeconds)} (they may have been killed) (${named}): if those were killed, nobody fetches them once due; see docs/runbooks/redis-move.md, step 6.1`);
  }
  return reasons;
}

function judgeJobs(report: Omit<DrainReport, 'verdict'>, previous: DrainReport | undefined, setsReadAt: number): DrainReport['verdict'] {
  const reasons: string[] = [];
  // Every set, dead and interrupted too: the docs promise an estimated set is never called drained,
  // and its exit code (1) said so while the verdict said DRAINED over a dead set read in part.
  const estimated = (Object.keys(report.sets) as (keyof DrainReport['sets'])[]).filter((set) => report.sets[set]?.orphanedEstimated);
  const counting = [
    ...estimated.map((set) => {
      const read = report.sets[set].readBeforeTimeRanOut;
      // Cut by the check's time, not its count limit: more time reads them all.
      if (read !== undefined) return `${set} holds ${report.sets[set].total} entries, more than the check could read in its time (it read ${read}): what they hold is estimated, so this is not a verdict of drained${report.moreTime ? `. ${report.moreTime}` : ''}`;
      return `${set} holds ${report.sets[set].total} entries, more than a check counts: what they hold is estimated, so this is not a verdict of drained`;
    }),
    ...notAllQueuesRead(report),
    ...notAllLookedAt(report),
    ...notAllListsRead(report),
    ...notAllBeaten(report),
    ...cronNotAllRead(report),
    ...cronQueueUnknown(report),
  ];
  if (report.remaining === 0 && counting.length > 0) return { state: 'draining', reasons: counting };
  if (report.remaining === 0) {
    // Scoped to retired queues (a routing change on this Redis), only entries naming one of them
    // matter, and there is nothing to transfer: the migration rewrites them. The others are the
    // live queues' own dead jobs, as on any Redis.
    const { dead, interrupted } = dormantEntries(report);
    if (report.retiredQueues !== undefined) {
      if (dead > 0) reasons.push(`${dead} dead job(s) name retired queues; retried, they would go where nobody fetches after the change: run the migration again (it rewrites them), or accept losing them`);
      if (interrupted > 0) reasons.push(`${interrupted} interrupted job(s) (GitLab's reliable fetcher set them aside) name retired queues: run the migration again (it rewrites them), or accept losing them`);
    } else {
      if (dead > 0) reasons.push(`${dead} dead job(s) remain; they never run unless retried: transfer them or accept losing them`);
      if (interrupted > 0) reasons.push(`${interrupted} interrupted job(s) remain (GitLab's reliable fetcher set them aside; they never run unless retried): transfer them or accept losing them`);
    }
    // Only a check scoped to retired queues gets here with orphans (elsewhere they are part of
    // `remaining`): its scope is drained, but the exit code says jobs will never run, and why.
    if (report.orphans.total > 0) reasons.push(`${report.orphans.total} job(s) outside the retired queues will never run as things stand${orphanPlaces(report)}: give their queues a listener`);
    // Those only processes not heard from for several beats listen to: said as the unscoped check says
    // them (a scoped DRAINED said no word of them, where it names the orphans beside them).
    reasons.push(...heardOnlyBySilentReasons(report));
    return { state: 'drained', reasons };
  }
  let stuck = false;
  const moved = report.movedDuringCheck ?? 0;
  if (moved > 0) reasons.push(`jobs moved between the keys this check read while it read them (a Sidekiq poller, fetcher or worker at work): ${moved} job(s) found in one atomic look at them afterwards; check again`);
  if (report.orphans.total > 0) {
    stuck = true;
    // Scoped to retired queues, `remaining` is theirs but this count is the whole Redis's: said, so
    // that "6 will never run" under "3 left" does not read as a contradiction.
    const of = report.retiredQueues !== undefined ? 'Of the whole Redis, not only the retired queues, ' : '';
    // Queues left unread (queuesCutShort) may hold more.
    reasons.push(`${of}${report.queuesCutShort ? 'at least ' : ''}${report.orphans.total} job(s) will never run as things stand${orphanPlaces(report)}`);
  }
  reasons.push(...heardOnlyBySilentReasons(report));
  if (report.inflight.length > 0) {
    stuck = true;
    reasons.push(`${report.inflight.reduce((n, l) => n + l.size, 0)} job(s) are in flight from interrupted transfers (${firstNamed([...new Set(report.inflight.map((l) => l.runId))])}): run the transfer again to finish them`);
  }
  const quarantine = report.quarantine ?? [];
  if (quarantine.length > 0) {
    stuck = true;
    const held = quarantine.reduce((n, l) => n + l.size, 0);
    reasons.push(`${held} job(s) sit in quarantine lists nobody fetches (${firstNamed(quarantine.map((l) => `${displayName(l.key)} ${l.size}`))}): put them back on a queue or delete them by hand`);
  }
  const fetched = report.fetched ?? [];
  // Lists of owners not heard from for several beats are said with their process (notHeardFrom below).
  const working = fetched.filter((l) => l.ownerAlive && l.ownerSilentSeconds === undefined).reduce((n, l) => n + l.size, 0);
  // Past the private lists' limit, their counts are a floor.
  const atLeast = report.fetchedListsCutShort ? 'at least ' : '';
  if (working > 0) reasons.push(`${atLeast}${working} job(s) are being worked on by live processes: they finish here, or fail into retry on this Redis`);
  const running = report.running;
  const runBySilent = running?.silentJobs ?? 0;
  if (running && running.jobs > runBySilent) {
    const taken = report.retiredQueues !== undefined ? 'taken from retired queues' : "taken from this Redis's queues";
    const silent = new Set((running.silent ?? []).map((p) => p.identity));
    const beating = running.processes.filter((p) => !silent.has(p.identity));
    const named = beating.map((p) => `${printable(p.identity)} ${p.jobs}`).join(', ');
    const more = beating.reduce((n, p) => n + p.jobs, 0) < running.jobs - runBySilent ? ', …' : '';
    // Only a graceful stop pushes such a job back (real Sidekiq 6.4: real-sidekiq-basic-fetch-killed.test.ts).
    reasons.push(`${running.jobs - runBySilent} job(s) ${taken} are being run by live Sidekiq processes (${named}${more}), in no list: one that fails goes to retry naming its queue; one whose process is stopped (TERM) first goes back on its queue on this Redis; one whose process is killed (KILL, out of memory) is lost, as Sidekiq's own fetch keeps it nowhere else`);
  }
  const notHeardFrom = report.notHeardFrom ?? [];
  reasons.push(...notHeardFrom.map((p) => notHeardFromReason(p)));
  // The report names the first 10 such processes (and the running ones' first RUNNING_NAMED): the
  // jobs of the others were counted out of the words above, so they are said here.
  const heldBySilent = fetched.filter((l) => l.ownerAlive && l.ownerSilentSeconds !== undefined).reduce((n, l) => n + l.size, 0) + runBySilent;
  const namedSilent = notHeardFrom.reduce((n, p) => n + p.running + p.lists.reduce((m, l) => m + l.size, 0), 0);
  if (heldBySilent > namedSilent) {
    const others = notHeardFrom.length > 0 ? `other Sidekiq processes not heard from for more than ${SILENT_BEATS} beats (the first ${notHeardFrom.length} are named above)` : `Sidekiq processes not heard from for more than ${SILENT_BEATS} beats`;
    reasons.push(`${atLeast}${heldBySilent - namedSilent} ${notHeardFrom.length > 0 ? 'more ' : ''}job(s) are held by ${others}: they may have been killed; see docs/runbooks/redis-move.md, step 6.1`);
  }
  const abandoned = fetched.filter((l) => !l.ownerAlive);
  if (abandoned.length > 0) {
    const held = abandoned.reduce((n, l) => n + l.size, 0);
    const where = `${abandoned.slice(0, 5).map((l) => `${displayName(l.key)} ${l.size}`).join(', ')}${abandoned.length > 5 ? `, and ${abandoned.length - 5} more` : ''}`;
    if (abandonedForGood(report).length > 0) {
      stuck = true;
      reasons.push(`${atLeast}${held} job(s) sit in the private lists of workers that are gone (${where}), and no live Sidekiq process is here to put them back: start one with the same fetcher against this Redis (it returns them to their queues, GitLab's within the hour), then move them`);
    } else {
      reasons.push(`${atLeast}${held} job(s) sit in the private lists of workers that are gone (${where}): a live process with the same fetcher returns them to their queues on this Redis (GitLab's reliable fetcher within the hour)`);
    }
  }
  reasons.push(...counting);
  const arriving = report.queues.filter((q) => (q.arrivedSinceLastCheck ?? 0) > 0);
  if (arriving.length > 0) {
    stuck = true;
    reasons.push(`jobs still arrive on retired queues (${firstNamed(arriving.map((q) => `${displayName(q.queue)}: ${q.arrivedSinceLastCheck}`))}): a node still uses the old routing rules, or a sidekiq-cron definition still names the queue`);
  }
  // Future entries in scope: all of them, or (routing-rule case) those naming retired queues.
  const waiting = report.retiredQueues
    ? report.sets.schedule.toRetiredQueues + report.sets.retry.toRetiredQueues
    : report.sets.schedule.total + report.sets.retry.total - report.sets.schedule.dueNow - report.sets.retry.dueNow;
  const lastDue = Math.max(report.sets.schedule.lastDueAt ?? 0, report.sets.retry.lastDueAt ?? 0);
  const waitSeconds = Math.max(0, lastDue - setsReadAt);
  if (waiting > 0) reasons.push(waitingReason(waiting, waitSeconds, report.retiredQueues !== undefined));
  if (!previous) return { state: stuck ? 'stuck' : 'draining', reasons };

  const elapsed = report.checkedAt - previous.checkedAt;
  const rate = elapsed > 0 ? (previous.remaining - report.remaining) / elapsed : 0;
  if (report.readyNow > 0 && report.readyNow >= previous.readyNow) {
    // "ready to run in 30 s" read as "ready in 30 s": the time is between the two checks.
    reasons.push(`no progress since the previous check, ${timeSpan(elapsed)} ago: ${previous.readyNow} → ${report.readyNow} job(s) ready to run`);
    return { state: 'stuck', reasons, ratePerSecond: rate };
  }
  const etaSeconds = Math.max(waitSeconds, rate > 0 ? (report.remaining - waiting) / rate : 0);
  return { state: stuck ? 'stuck' : 'draining', reasons, ratePerSecond: rate, etaSeconds };
}

/**
 * A live process (its heartbeat hash still there) not heard from for several beats, and what it
 * holds: a SIGKILLed one's hash lives 60 s after its last beat, and until then "being worked on by
 * live processes" was said over jobs nobody works on (real-sidekiq-redis-move-runbook-killed.test.ts).
 * `where`: the Redis it is on, as a run's or move's summary names it ("the source", "this Redis");
 * the drain check's own words name none. `inLists`: the jobs in all its lists, when `lists` names
 * only the first of them (a summary's).
 */
export function notHeardFromReason(p: NonNullable<DrainReport['notHeardFrom']>[number] & { readonly inLists?: number }, where?: string): string {
  const named = p.lists.reduce((n, l) => n + l.size, 0);
  const more = (p.inLists ?? named) > named ? `, and ${(p.inLists ?? named) - named} job(s) in more of its lists` : '';
  const holds = [
    ...(p.lists.length > 0
      ? [
          `${p.lists.map((l) => `${l.size} job(s) in its fetcher's private list ${printable(displayName(l.key))}`).join(', ')}${more}, which go back to their queue on ${where ?? 'this Redis'} only when a live process with the same fetcher returns them (GitLab's reliable fetcher within the hour, once this one's fetcher heartbeat has expired)`,
        ]
      : []),
    ...(p.running > 0
      ? [
          `${p.running} job(s) it was running in no list, lost if it was killed (Sidekiq's own fetch keeps them nowhere else); its heartbeat names them (\`${printable(p.identity)}:workers\`, \`:work\` from Sidekiq 6.5) until it expires, 60 s after its last beat`,
        ]
      : []),
  ];
  return `Sidekiq process ${printable(p.identity)}${where ? ` on ${where}` : ''} not heard from for ${timeSpan(p.silentSeconds)} (a live Sidekiq process beats every ${p.beatEverySeconds} s): it may have been killed. It holds ${holds.join('; and ')}: see docs/runbooks/redis-move.md, step 6.1`;
}

/** The looks over the keyspace the check's time stopped (DrainReport.keyspaceLookCutShort): what they did not reach is not confirmed empty. */
function notAllLookedAt(report: Omit<DrainReport, 'verdict'>): string[] {
  const cut = report.keyspaceLookCutShort;
  if (!cut) return [];
  const looks = cut.looks.length > 1 ? `${cut.looks.slice(0, -1).join(', ')} and ${cut.looks.at(-1)}` : cut.looks.join('');
  const count = (v: number) => v.toLocaleString('en-US');
  // What a look that did not reach the end still read whatever the time, when it was one of them.
  const despite = [
    ...(cut.looks.includes(KEYSPACE_LOOKS.data[0]) ? ["none of Sidekiq's own keys is under this prefix and its look for queue lists found none before its time ran out: whether this Redis holds Sidekiq data there (or it is the wrong prefix) is not known"] : []),
    ...(cut.looks.includes(KEYSPACE_LOOKS.queues[0]) ? [report.retiredQueues ? 'every queue the `queues` set names and every retired queue was counted: only a queue list missing from them may have been missed' : 'every queue the `queues` set names was counted: only a queue list missing from it may have been missed'] : []),
    ...(cut.looks.includes(KEYSPACE_LOOKS.cron[0]) ? ['sidekiq-cron definitions of namespaces other than default (cron_jobs:NAME) were not all read'] : []),
  ];
  return [`${looks} not all looked at: the check's time ran out after about ${count(cut.lookedAt)} of the Redis's ${count(cut.keys)} keys; jobs there are not confirmed absent${despite.map((d) => `; ${d}`).join('')}, so this is not a verdict of drained${cut.moreTime ? `. ${cut.moreTime}` : ''}`];
}

/**
 * Live processes the check could not hear beat twice after it found nothing left (confirm-drained.ts):
 * a job one fetched less than a beat before may be in no list and in no heartbeat yet.
 */
function notAllBeaten(report: Omit<DrainReport, 'verdict'>): string[] {
  const u = report.beatWait?.unconfirmed;
  if (!u) return [];
  const named = (ids: readonly string[]) => ids.map(printable).join(', ');
  const parts = [
    ...(u.late.length > 0 ? [`had not beaten twice in the ${report.beatWait!.waitedSeconds} s it waited (${named(u.late)})`] : []),
    ...(u.stopped.length > 0 ? [`stopped while it waited, putting back on their queues what they ran (${named(u.stopped)})`] : []),
    ...(u.appeared.length > 0 ? [`started while it checked (${named(u.appeared)})`] : []),
  ];
  const silent = u.silent ?? [];
  const shown = u.late.length + u.stopped.length + u.appeared.length;
  // Silent processes are not waited for (confirm-drained.ts): each said with when its heartbeat
  // expires, the others (past the first named) in the count of the line below.
  const others = u.count - silent.length;
  return [
    ...silent.map(
      (p) =>
        `not yet sure: the check found nothing left, but Sidekiq process ${printable(p.identity)} not heard from for ${timeSpan(p.silentSeconds)} (a live Sidekiq process beats every ${p.beatEverySeconds} s): it may have been killed; its heartbeat expires within ${Math.ceil(p.heartbeatExpiresInSeconds)} s, after which the check can confirm. If it still runs, a job it fetched less than a beat before is in no list and shows only in its next heartbeat, so this is not a verdict of drained; check again then`,
    ),
    ...(others > 0
      ? [`not yet sure: the check found nothing left, but ${others} ${silent.length > 0 ? 'more ' : ''}live Sidekiq process(es) ${parts.length > 0 ? `${parts.join('; ')}${shown < others ? ', …' : ''}` : `not heard from for more than ${SILENT_BEATS} beats`}: a job one fetched less than a beat (5–10 s) before is in no list and not yet in its heartbeat, so this is not a verdict of drained; check again`]
      : []),
  ];
}

/**
 * The queues the check's time stopped it from reading (DrainReport.queuesCutShort): named, the
 * first NAMED_IN_A_REASON of them, with how many in all; their jobs are in no count.
 */
function notAllQueuesRead(report: Omit<DrainReport, 'verdict'>): string[] {
  const cut = report.queuesCutShort;
  if (!cut) return [];
  const count = (v: number) => v.toLocaleString('en-US');
  const left = cut.queues - cut.read;
  const shown = cut.unread.slice(0, NAMED_IN_A_REASON).map((q) => printable(displayName(q)));
  const named = `${shown.join(', ')}${left > shown.length ? `, … and ${count(left - shown.length)} more` : ''}`;
  return [`queues not all read: the check's time ran out after ${count(cut.read)} of the ${count(cut.queues)} queues; ${count(left)} not read (${named}): their jobs are not counted, so this is not a verdict of drained${report.moreTime ? `. ${report.moreTime}` : ''}`];
}

/** The look for private lists stopped at its limit (DrainReport.fetchedListsCutShort): there may be more. */
function notAllListsRead(report: Omit<DrainReport, 'verdict'>): string[] {
  const stop = report.fetchedListsCutShort;
  if (!stop) return [];
  const count = (v: number) => v.toLocaleString('en-US');
  return [`the check stopped at the first ${count(stop.read)} workers' private lists it found (its limit: ${count(stop.limit)}): there may be more, and more jobs in them than counted, so this is not a verdict of drained`];
}

/** Names a reason lists: a Redis with thousands of queues would make one line of tens of kilobytes (--json lists every one). */
const NAMED_IN_A_REASON = 10;

/** `a, b, c`, or the first NAMED_IN_A_REASON and `… and N more`. */
function firstNamed(names: readonly string[]): string {
  // Names come from Redis: a line break or an escape sequence in one must not reach the terminal raw.
  const shown = names.slice(0, NAMED_IN_A_REASON).map(printable).join(', ');
  return names.length > NAMED_IN_A_REASON ? `${shown}, … and ${(names.length - NAMED_IN_A_REASON).toLocaleString('en-US')} more` : shown;
}

/** With retired queues, cron definitions count: those beyond the ones read (MAX_CRON_DEFINITIONS) may push to one. */
function cronNotAllRead(report: Omit<DrainReport, 'verdict'>): string[] {
  if (!report.cronUnread || report.retiredQueues === undefined) return [];
  const all = (report.cron ?? []).length + report.cronUnread;
  return [`sidekiq-cron: ${report.cronUnread} of the ${all} definitions were not read (this check reads the first ${MAX_CRON_DEFINITIONS}): whether they push to a retired queue is not known, so this is not a verdict of drained`];
}

/**
 * Enabled sidekiq-cron definitions whose queue is not known (CronState.queueUnknown): with retired
 * queues, any of them may push to one, so never a verdict of drained; named, with why.
 */
export function cronOfUnknownQueue(report: Omit<DrainReport, 'verdict'>): CronState[] {
  if (report.retiredQueues === undefined) return [];
  return (report.cron ?? []).filter((c) => c.enabled && c.queue === null);
}

function cronQueueUnknown(report: Omit<DrainReport, 'verdict'>): string[] {
  const unknown = cronOfUnknownQueue(report);
  if (unknown.length === 0) return [];
  // Separated by "; ": a reason holds commas of its own. Names come from Redis: printable.
  const shown = unknown.slice(0, NAMED_IN_A_REASON).map((c) => printable(`${c.name}: ${c.queueUnknown ?? 'queue not known'}`));
  const named = `${shown.join('; ')}${unknown.length > NAMED_IN_A_REASON ? `; … and ${(unknown.length - NAMED_IN_A_REASON).toLocaleString('en-US')} more` : ''}`;
  return [`sidekiq-cron: ${unknown.length} enabled definition(s) push to a queue this check cannot know (${named}): one may push to a retired queue, so this is not a verdict of drained; check where they push by hand (the class's sidekiq_options, or the message of their cron_job:… hash)`];
}
