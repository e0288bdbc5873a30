import type { KeyspaceCut } from '../redis/bounded-scan.js';
import type { RerouteCounters } from '../reroute/reroute-counters.js';
import type { TransferCounters } from '../transfer/transfer-counters.js';
import { leftInPlace } from './left-in-place.js';
import { MAX_ITERATIONS } from './workflow-input.js';
import type { RunSummary } from './steps/summarize-step.js';
import type { JobsUnderOtherPrefixes } from './other-prefixes-left.js';
import { SILENT_BEATS } from '../drain/live-processes.js';
import { timeSpan } from '../drain/time-span.js';

/*
 * Where a run left jobs, or may have, as its verdict names them: the CLI's summary ("Done, but jobs
 * were left behind: …", cli/workflow/render-summary.ts) and the deployed summarize function's log
 * line read the same clauses, so neither says "complete" over what the other names.
 */

const n = (value: number): string => Math.round(value).toLocaleString('en-US');

/** What a run left (or, dry, would leave) behind, counted from its totals, as the verdict names it. */
export function jobsLeftBehind(summary: RunSummary, reroute: boolean): string[] {
  const t = summary.totals as unknown as Partial<Record<string, number>>;
  const quarantined = reroute ? (t['quarantined'] ?? 0) : 0;
  const inPlace = leftInPlace(t, reroute);
  const lists = reroute ? 0 : (summary.leftOnSourceLists ?? summary.leftOnSource?.length ?? 0);
  const earlier = reroute ? quarantinedBefore(summary) : 0;
  return [
    ...(quarantined > 0 ? [`${n(quarantined)} quarantined`] : []),
    ...(inPlace > 0 ? [`${n(inPlace)} left in place${leftUnheardClause(summary, reroute)}`] : []),
    // A selective transfer's: the other classes' set entries it left on the source, not among the
    // jobs left in place (left-in-place.ts), named when they name queues nobody fetches there.
    ...(!reroute && summary.leftUnheardInSets ? [`${unheardEntries(summary.leftUnheardInSets)} in sets for queues nobody fetches, of classes not selected`] : []),
    ...(!reroute && summary.leftInSetsUnheardSilent ? [`${unheardEntries(summary.leftInSetsUnheardSilent)} in sets for queues only Sidekiq processes that may have been killed listen to, of classes not selected`] : []),
    ...(lists > 0 ? [`${n(lists)} list(s) not transferred`] : []),
    ...(earlier > 0 ? [`${n(earlier)} in quarantine lists from earlier runs`] : []),
    ...(summary.inflightOnTarget ? [`${n(summary.inflightOnTarget.jobs)} in flight on the target from an interrupted transfer out of it`] : []),
    ...(summary.inflightLeftOnSource ? [`${n(summary.inflightLeftOnSource.jobs)} in in-flight keys on the source that no run finishes`] : []),
    ...(summary.inflightStillOnSource ? [`${n(summary.inflightStillOnSource.jobs)} still in flight on the source`] : []),
    ...(summary.inflightOnSource ? [`${n(summary.inflightOnSource.jobs)} in flight from an interrupted transfer out of this Redis`] : []),
    ...((summary.notLookedAt?.jobs ?? 0) > 0 ? [`${summary.notLookedAt!.queuesCutShort ? 'at least ' : ''}${n(summary.notLookedAt!.jobs)} in sets and queues this run did not look at`] : []),
    ...((summary.heldByWorkers?.abandoned ?? 0) > 0 ? [`${n(summary.heldByWorkers!.abandoned)} in private lists of gone workers`] : []),
    ...otherPrefixesLeft(summary.underOtherPrefixes, summary.rollbackOf !== undefined),
  ];
}

/**
 * The jobs left in place where nobody fetches (RunSummary.leftUnheard), as the verdict's clause
 * after "N left in place": "at least" when it names fewer queues than it found.
 */
function leftUnheardClause(summary: RunSummary, reroute: boolean): string {
  const inLists = summary.leftUnheard ? unheardEntries(summary.leftUnheard) : undefined;
  // Set entries naming such queues (RunSummary.leftUnheardInSets): they land there when due. A
  // re-route's are among its jobs left in place; a transfer's, the other classes', are not (above).
  const inSets = reroute && summary.leftUnheardInSets ? unheardEntries(summary.leftUnheardInSets) : undefined;
  // Unparsable set entries (RunSummary.leftInSetsUnreadable): whether their queue is fetched is not known.
  const unreadable = summary.leftInSetsUnreadable ? n(summary.leftInSetsUnreadable.jobs) : undefined;
  // Where only processes not heard from for several beats listen (RunSummary.leftUnheardSilent, leftInSetsUnheardSilent).
  const silentLists = summary.leftUnheardSilent ? unheardEntries(summary.leftUnheardSilent) : undefined;
  const silentSets = reroute && summary.leftInSetsUnheardSilent ? unheardEntries(summary.leftInSetsUnheardSilent) : undefined;
  const parts = [
    ...(inLists ? [`${inLists} of them where nobody fetches`] : []),
    ...(inSets ? [`${inSets}${inLists ? '' : ' of them'} in sets for queues nobody fetches`] : []),
    ...(unreadable ? [`${unreadable}${inLists || inSets ? '' : ' of them'} in sets naming no queue it can read`] : []),
    ...(silentLists ? [`${silentLists}${inLists || inSets || unreadable ? '' : ' of them'} where only Sidekiq processes that may have been killed listen`] : []),
    ...(silentSets ? [`${silentSets}${inLists || inSets || unreadable || silentLists ? '' : ' of them'} in sets for queues only ${silentLists ? 'such processes listen to' : 'Sidekiq processes that may have been killed listen to'}`] : []),
  ];
  return parts.length === 0 ? '' : `, ${parts.join(' and ')}`;
}

/** The jobs of a finding of queues nobody fetches: "at least" when it names fewer queues than it found. */
function unheardEntries(found: NonNullable<RunSummary['leftUnheard'] | RunSummary['leftUnheardInSets'] | RunSummary['leftUnheardSilent']>): string {
  const jobs = found.queues.reduce((sum, q) => sum + q.jobs, 0);
  return `${found.total > found.queues.length ? 'at least ' : ''}${n(jobs)}`;
}

/** Where a run may have left jobs that the summary could not count, as the verdict names it. */
export function unknownLeftBehind(summary: RunSummary): string[] {
  const uncounted = summary.notLookedAt?.uncounted?.total ?? 0;
  return [
    ...(uncounted > 0 ? [`${n(uncounted)} ${uncounted === 1 ? 'set or queue' : 'sets and queues'} this run did not look at could not be counted`] : []),
    ...leftoverLooksCutShort(summary, summary.mode === 'reroute').map((look) => `${look.what} on ${look.where} not all looked at (cut short after about ${n(look.cut.lookedAt)} of ${n(look.cut.keys)} keys)`),
    ...(summary.notLookedAt?.queuesCutShort ? [`queue lists --no-queues left out not all looked at (cut short after about ${n(summary.notLookedAt.queuesCutShort.lookedAt)} of ${n(summary.notLookedAt.queuesCutShort.keys)} keys)`] : []),
    ...(summary.heldByWorkers?.cutShort ? ["the look for jobs in workers' private lists was cut short"] : []),
    ...runningNotRead(summary),
    ...otherPrefixesUnknown(summary.underOtherPrefixes),
    ...(summary.movedOnSince?.cutShortAfter !== undefined ? [`the look for later runs that moved run ${summary.movedOnSince.of}'s jobs on was cut short`] : []),
    ...countsCutShort(summary).map((cut) => `jobs of the selected classes ${cut}`),
    ...(summary.setArrivalsCutShort ? [`entries added to ${summary.setArrivalsCutShort.sets.join(', ')} after their pass ended not all counted (cut short with ${n(summary.setArrivalsCutShort.unread)} entries not read)`] : []),
    ...(summary.selectedArrivalsCutShort
      ? [`jobs of the selected classes put back on ${n(summary.selectedArrivalsCutShort.queues)} queue(s) not all counted (cut short after ${n(summary.selectedArrivalsCutShort.read)} of ${n(summary.selectedArrivalsCutShort.jobs)} jobs)`]
      : []),
  ];
}

/**
 * The sets whose class-selective pass's count of what stays at its end, or the summary's count of
 * what was added after it, did not read the whole set (TransferCounters.leftUncounted,
 * selected-left-count.ts), each as "in retry not all counted (…)" naming what stopped it: the
 * pass's count at its cap of tasks (leftUncountedAtCap, countCap: maxIterations) or a page task's
 * time, the summary's count at the summary's time (leftUncountedBySummary). One clause per cause
 * a set has. Their jobs of the selected classes left there are at least what the summary says, never exactly.
 */
export function countsCutShort(summary: RunSummary): string[] {
  if (summary.mode === 'reroute') return [];
  return Object.entries(summary.sets).flatMap(([set, c]) => {
    const counters = c as TransferCounters;
    const unread = counters.leftUncounted ?? 0;
    if (unread <= 0) return [];
    // The set's entries when its pass ended, those not read among them (the totals keep them; a set's row may not).
    const entries = Object.values((summary.totals as TransferCounters).leftInSets?.[set] ?? counters.leftInSets?.[set] ?? {}).reduce((sum, v) => sum + v, 0);
    const notRead = (count: number) => `${n(count)}${entries >= count ? ` of its ${n(entries)}` : ''} entries not read`;
    // The summary's own count, after the pass (the set read again, entries added since among it): its time, not a task's.
    const bySummary = Math.min(unread, counters.leftUncountedBySummary ?? 0);
    const ofPass = unread - bySummary;
    const said: string[] = [];
    // Carried on over the item's tasks until its cap (maxIterations), not a task's time: named, with what would count further.
    const cap = counters.countCap ?? 0;
    if (ofPass > 0 && cap > 0 && (counters.leftUncountedAtCap ?? 0) >= ofPass) {
      const further = cap < MAX_ITERATIONS ? `a run with a larger maxIterations (at most ${n(MAX_ITERATIONS)}) counts further` : 'drain-check --classes counts them';
      said.push(`in ${set} not all counted (the count of what stays there, carried on over the item's tasks, stopped at its cap of ${n(cap)} tasks, the execution's loop iterations (maxIterations): ${notRead(ofPass)}; ${further})`);
    } else if (ofPass > 0) said.push(`in ${set} not all counted (the count of what stays there was cut short by its task's time: ${notRead(ofPass)})`);
    if (bySummary > 0) said.push(`in ${set} not all counted (the summary's count of what was added there after its pass ended was cut short by the summary's time: ${n(bySummary)} entries not read)`);
    return said;
  });
}

/** The summary's looks for quarantine lists and in-flight keys that its time stopped (RunSummary.leftoverLooksCutShort), as its words name them. */
export function leftoverLooksCutShort(summary: RunSummary, reroute: boolean): { what: string; where: string; pattern: string; cut: KeyspaceCut }[] {
  const { source, target } = summary.leftoverLooksCutShort ?? {};
  return [
    ...(source ? [{ what: 'quarantine lists and in-flight keys', where: reroute ? 'this Redis' : 'the source', pattern: 'sidekiq-migrate:*', cut: source }] : []),
    ...(target ? [{ what: 'in-flight keys', where: 'the target', pattern: 'sidekiq-migrate:*:inflight:*', cut: target }] : []),
  ];
}

/**
 * A re-route's jobs in quarantine lists that it did not put there: what the lists hold beyond
 * what this run quarantined (a dry run quarantined nothing).
 */
export function quarantinedBefore(summary: RunSummary): number {
  if (summary.mode !== 'reroute') return 0;
  const ours = summary.dryRun ? 0 : ((summary.totals as RerouteCounters).quarantined ?? 0);
  return Math.max(0, (summary.quarantinedInLists ?? 0) - ours);
}

/** What the verdict counts as left behind under other prefixes: a rollback's (RunSummary.rollbackOf) says "this rollback" (audit-truth2). */
function otherPrefixesLeft(found: JobsUnderOtherPrefixes | undefined, rollback: boolean): string[] {
  return (found?.jobs ?? 0) > 0 ? [`${n(found!.jobs)} under other prefixes ${rollback ? 'this rollback' : 'this run'} did not look at`] : [];
}

/** What the verdict names as maybe left behind under other prefixes: keys it could not read, a look cut short. */
function otherPrefixesUnknown(found: JobsUnderOtherPrefixes | undefined): string[] {
  return [
    ...(found?.unreadable ? [`${n(found.unreadable)} key(s) under other prefixes could not be read`] : []),
    ...(found?.cutShort ? ['the look for jobs under other prefixes was cut short'] : []),
  ];
}

/**
 * Jobs of the queues the run emptied that live Sidekiq processes on the source (a re-route's: this
 * Redis) are running, in no list (HeldByWorkers.running): Sidekiq's own fetch took them with
 * BRPOP, only their heartbeat shows them. Not left behind, not done either (one that fails goes to
 * retry there): never "Complete" over them. `named`: the processes, for the CLI (a log line gets
 * counts only), each identity as `shown` prints it. Undefined when none.
 */
export function runningInNoList(summary: RunSummary, shown: (identity: string) => string = (identity) => identity): { readonly jobs: string; readonly where: string; readonly named: string } | undefined {
  const running = summary.heldByWorkers?.running;
  // Those of processes not heard from for several beats are said apart (notHeardFromHolding).
  const jobs = (running?.jobs ?? 0) - (running?.silentJobs ?? 0);
  if (!running || jobs <= 0) return undefined;
  const silent = new Set((running.silent ?? []).map((p) => p.identity));
  const beating = running.processes.filter((p) => !silent.has(p.identity));
  const more = beating.reduce((x, p) => x + p.jobs, 0) < jobs ? ' · …' : '';
  return {
    jobs: `${running.processesNotRead ? 'at least ' : ''}${n(jobs)}`,
    where: summary.mode === 'reroute' ? 'this Redis' : 'the source',
    named: `${beating.map((p) => `${shown(p.identity)} ${n(p.jobs)}`).join(' · ')}${more}`,
  };
}

/**
 * Jobs of the queues the run emptied in the fetchers' private lists of live workers
 * (HeldByWorkers.working: GitLab's reliable fetcher, super_fetch). Not left behind, not done
 * either: one that finishes is done, one that fails goes to retry there, and one whose worker
 * dies goes back on its old queue there (the fetcher's clean-up), where the run no longer looks:
 * never "Complete" over them, as over the jobs live processes run in no list (the same rule,
 * heldByLiveWorkers). `named`: the lists, for the CLI (a log line gets counts only), each key as
 * `shown` prints it. Undefined when none.
 */
export function workingInPrivateLists(summary: RunSummary, shown: (key: string) => string = (key) => key): { readonly jobs: string; readonly where: string; readonly named: string } | undefined {
  const held = summary.heldByWorkers;
  // Those in lists of processes not heard from for several beats are said apart (notHeardFromHolding).
  const jobs = (held?.working ?? 0) - (held?.silentWorking ?? 0);
  if (!held || jobs <= 0) return undefined;
  const beating = held.workingLists.filter((l) => l.ownerSilentSeconds === undefined);
  const more = beating.reduce((x, l) => x + l.size, 0) < jobs ? ' · …' : '';
  return {
    jobs: n(jobs),
    where: summary.mode === 'reroute' ? 'this Redis' : 'the source',
    named: `${beating.map((l) => `${shown(l.key)} ${n(l.size)}`).join(' · ')}${more}`,
  };
}

/**
 * Jobs of the queues the run emptied that live Sidekiq processes not heard from for more than
 * SILENT_BEATS beats hold (HeldByWorkers.silentWorking, running.silentJobs, notHeardFrom): a
 * SIGKILLed process's heartbeat lives 60 s after its last beat, and the summary counted it live;
 * what it holds is worked on by nobody (its private list's jobs wait for a process of the same
 * fetcher to put them back; those it ran in no list are lost). Said in drain-check's terms, never
 * "being worked on", and never "Complete" over them. `named`: the processes, for the CLI (a log
 * line gets counts only), each identity as `shown` prints it. Undefined when none.
 */
export function notHeardFromHolding(summary: RunSummary, shown: (identity: string) => string = (identity) => identity): { readonly jobs: string; readonly where: string; readonly named: string } | undefined {
  const held = summary.heldByWorkers;
  const jobs = (held?.silentWorking ?? 0) + (held?.running?.silentJobs ?? 0);
  if (!held || jobs <= 0) return undefined;
  const processes = held.notHeardFrom ?? [];
  const more = processes.reduce((x, p) => x + p.inLists + p.running, 0) < jobs ? ' · …' : '';
  return {
    jobs: n(jobs),
    where: summary.mode === 'reroute' ? 'this Redis' : 'the source',
    named: `${processes.map((p) => `${shown(p.identity)} ${n(p.inLists + p.running)} (not heard from for ${timeSpan(p.silentSeconds)})`).join(' · ')}${more}`,
  };
}

/**
 * The one rule for jobs of the queues a run emptied that live Sidekiq processes still hold, in
 * their fetchers' private lists (workingInPrivateLists) or in no list (runningInNoList): they are
 * not where the run puts them, and may yet go back on their old queue there, so a run that would
 * otherwise say "Complete" ends "Done, but …" naming them (exit code 0, as every "Done, but"),
 * and every other verdict names them too. The clauses, private lists first; `named`: with the
 * lists and processes (the CLI), else counts only (a log line). Empty when none.
 */
export function heldByLiveWorkers(summary: RunSummary, named: false | { list: (key: string) => string; process: (identity: string) => string }): string[] {
  const working = workingInPrivateLists(summary, named ? named.list : undefined);
  const running = runningInNoList(summary, named ? named.process : undefined);
  const silent = notHeardFromHolding(summary, named ? named.process : undefined);
  return [
    ...(working ? [`${working.jobs} job(s) are being worked on by live Sidekiq processes on ${working.where} (in their fetchers' private lists)${named ? `: ${working.named}` : ''}`] : []),
    ...(running ? [`${running.jobs} job(s) are being run by live Sidekiq processes on ${running.where} (in no list)${named ? `: ${running.named}` : ''}`] : []),
    ...(silent ? [`${silent.jobs} job(s) are held by ${notHeardFromWho(silent.where)}${named ? `: ${silent.named}` : ''}`] : []),
  ];
}

/** Who holds the jobs notHeardFromHolding counts, as the verdict and the log line say them. */
function notHeardFromWho(where: string): string {
  return `Sidekiq processes on ${where} not heard from for more than ${SILENT_BEATS} beats, which may have been killed`;
}

/** Live processes whose heartbeats the summary did not read (HeldByWorkers.running), when those it read run none of its jobs (else "at least"). */
function runningNotRead(summary: RunSummary): string[] {
  const running = summary.heldByWorkers?.running;
  if (!running?.processesNotRead || running.jobs > 0) return [];
  return [`jobs run in no list by ${n(running.processesNotRead)} live Sidekiq process(es) on ${summary.mode === 'reroute' ? 'this Redis' : 'the source'} not counted (their heartbeats not read)`];
}

/**
 * How a finished, not dry, run ended, as a log line can say it without the CLI's words: 'left'
 * when it left jobs anywhere its verdict names (above, and jobs not reached or arrived on retired
 * queues, still on a transfer's source, moved on by later runs), 'unknown' when it may have (a
 * look cut short, keys it could not read), 'unmatched' when a --rename moved nothing (no such queue),
 * 'running' when live processes still hold jobs of its queues (in their fetchers' private lists,
 * `working`, or in no list, `running`; or, not heard from for several beats, `notHeardFrom`:
 * heldByLiveWorkers), 'none' otherwise. Never 'none' where
 * the CLI's summary of the same run would say "Done, but …".
 */
export function leftBehindOf(summary: RunSummary): {
  readonly verdict: 'none' | 'left' | 'unmatched' | 'unknown' | 'running';
  readonly left: string[];
  readonly uncertain: string[];
  readonly unmatched: string[];
  readonly working: string[];
  readonly running: string[];
  readonly notHeardFrom: string[];
} {
  const reroute = summary.mode === 'reroute';
  const totals = summary.totals as unknown as Partial<Record<string, number>>;
  const left = [
    ...jobsLeftBehind(summary, reroute),
    ...(reroute && (totals['unreached'] ?? 0) > 0 ? [unreachedClause(totals['unreached']!, summary.rollbackOf !== undefined)] : []),
    ...(reroute && (totals['arrived'] ?? 0) > 0 ? [arrivedClause(totals['arrived']!, summary.rollbackOf !== undefined)] : []),
    ...(!reroute && (totals['leftOnSource'] ?? 0) > 0 ? [`${(totals['leftUncounted'] ?? 0) > 0 ? 'at least ' : ''}${n(totals['leftOnSource']!)} remain on the source`] : []),
    ...(summary.movedOnSince && summary.movedOnSince.runs.length > 0 ? [`jobs of run ${summary.movedOnSince.of} moved on by ${n(summary.movedOnSince.totalRuns)} later run(s)`] : []),
  ];
  const uncertain = unknownLeftBehind(summary);
  const unmatched = unmatchedRenames(summary, reroute).map((r) => `--rename ${r.from}=${r.to} moved nothing`);
  const inLists = workingInPrivateLists(summary);
  const working = inLists ? [`${inLists.jobs} being worked on by live Sidekiq processes on ${inLists.where} (in their fetchers' private lists)`] : [];
  const inNoList = runningInNoList(summary);
  const running = inNoList ? [`${inNoList.jobs} being run by live Sidekiq processes on ${inNoList.where} (in no list)`] : [];
  const silent = notHeardFromHolding(summary);
  const notHeardFrom = silent ? [`${silent.jobs} held by ${notHeardFromWho(silent.where)}`] : [];
  const verdict = left.length > 0 ? 'left' : unmatched.length > 0 ? 'unmatched' : uncertain.length > 0 ? 'unknown' : working.length + running.length + notHeardFrom.length > 0 ? 'running' : 'none';
  return { verdict, left, uncertain, unmatched, working, running, notHeardFrom };
}

/**
 * A re-route's jobs that arrived on the queues it drains after their pass (RerouteCounters.arrived),
 * as its verdict's clause. A run's are its retired queues; a rollback's (RunSummary.rollbackOf),
 * the queues the rolled-back run moved jobs to, which it drains: "retired queues" and "the run"
 * named neither (audit-truth).
 */
export function arrivedClause(arrived: number, rollback: boolean): string {
  return rollback ? `${n(arrived)} arrived during the rollback on the queues it drains` : `${n(arrived)} arrived on retired queues during the run`;
}

/** A re-route's jobs on the queues it drains that its passes did not reach (RerouteCounters.unreached), as its verdict's clause (arrivedClause's rule). */
export function unreachedClause(unreached: number, rollback: boolean): string {
  return rollback ? `${n(unreached)} not reached on the queues the rollback drains` : `${n(unreached)} not reached on retired queues`;
}

/** How to move what a re-route left on the queues it drains: the same run again, or a rollback's rollback again (of its run, when known). */
export function runAgain(rollbackOf: string | undefined, rollback: boolean): { readonly verb: string; readonly again: string } {
  if (!rollback) return { verb: 'moved', again: 'run again' };
  return { verb: 'moved back', again: rollbackOf !== undefined ? `roll back ${rollbackOf} again` : 'roll back again' };
}

/** The renames whose old queue this Redis never had and that moved nothing (the verdict says so, never "Complete"). */
export function unmatchedRenames(summary: RunSummary, reroute: boolean): NonNullable<RunSummary['renamesWithoutQueue']> {
  // No Sidekiq data at all is said as such, once.
  if (!reroute || summary.nothingThere) return [];
  const movedTo = (summary.totals as RerouteCounters).movedTo ?? {};
  return (summary.renamesWithoutQueue ?? []).filter((r) => !((movedTo[r.to] ?? 0) > 0));
}

