import { addDestinations, OTHER_QUEUES, type RerouteCounters } from '../reroute/reroute-counters.js';
import type { TransferCounters } from '../transfer/transfer-counters.js';
import { emptyTally, addToTotals } from './run-tally.js';
import { combineUnheard, combineUnheardSilent } from './unheard-queues.js';
import type { RunSummary } from './steps/summarize-step.js';
import type { ListedItem } from './run-tally.js';
import { targetLossLine, type TargetLoss } from './target-loss.js';

export interface ExecutionSummary {
  readonly executionArn: string;
  readonly summary: RunSummary;
}

/**
 * One summary for a chain of executions (continue-as-new), given in the order they started. Each
 * execution counts the items that ended in it (an item that continued elsewhere carried its
 * counters along, and is counted where it ends), so the totals add up; listed counters of an
 * item are those of the last execution that lists it (the one that ended the run last of all). Failures of any execution are kept;
 * continuations whose execution is not in the chain (not finished, or not followed) stay listed,
 * and `complete` holds only when nothing failed and nothing is left continuing.
 */
export function combineSummaries(chain: readonly ExecutionSummary[]): RunSummary {
  const first = chain[0]?.summary;
  if (!first) throw new Error('combineSummaries needs at least one execution');
  const sets: RunSummary['sets'] = {};
  const queues: RunSummary['queues'] = {};
  const failures: RunSummary['failures'] = [];
  const tally = emptyTally(first.mode);
  const counts = { finished: 0, failed: 0, continued: 0 };
  let unlisted = 0;
  let unheard: RunSummary['unheard'];
  let unheardSilent: RunSummary['unheardSilent'];
  let leftUnheard: RunSummary['leftUnheard'];
  let leftUnheardInSets: RunSummary['leftUnheardInSets'];
  let leftUnheardSilent: RunSummary['leftUnheardSilent'];
  let leftInSetsUnheardSilent: RunSummary['leftInSetsUnheardSilent'];
  let unreadableInSets = 0;
  for (const { summary } of chain) {
    unreadableInSets += summary.leftInSetsUnreadable?.jobs ?? 0;
    unheard = combineUnheard(unheard, summary.unheard);
    unheardSilent = combineUnheardSilent(unheardSilent, summary.unheardSilent);
    leftUnheard = combineLeftUnheard(leftUnheard, summary.leftUnheard);
    leftUnheardInSets = combineLeftUnheardInSets(leftUnheardInSets, summary.leftUnheardInSets);
    leftUnheardSilent = combineUnheardSilent(leftUnheardSilent, summary.leftUnheardSilent);
    leftInSetsUnheardSilent = combineUnheardSilent(leftInSetsUnheardSilent, summary.leftInSetsUnheardSilent);
    Object.assign(sets, summary.sets);
    Object.assign(queues, summary.queues);
    failures.push(...summary.failures);
    addToTotals(tally, first.mode, summary.totals);
    unlisted += summary.unlisted ?? 0;
    counts.finished += summary.counts?.finished ?? 0;
    counts.failed += summary.counts?.failed ?? summary.failures.length;
    counts.continued += summary.counts?.continued ?? summary.continuedIn.length;
  }
  const followed = new Set(chain.map((e) => e.executionArn));
  const pending = chain.flatMap((e) => e.summary.continuedIn).filter((c) => !followed.has(c.execution));
  // Every continuation is an execution of the chain once followed: the rest are still running.
  const notFollowed = Math.max(pending.length, counts.continued - (chain.length - 1));
  const totals = tally.totals as RerouteCounters | TransferCounters;
  largestDestinationsNamed(totals, first.mode, chain);
  // A target's loss, seen by more than one execution, or by one that does not list what others
  // wrote there: one line, weighing every set and queue of the chain (target-loss.ts).
  const losses = chain.map((e) => e.summary.targetLoss).filter((l): l is TargetLoss => l !== undefined);
  if (losses.length > 0 && chain.length > 1) {
    const isLossLine = (f: RunSummary['failures'][number]) => f.kind === 'execution' && f.name === first.runId && f.error.startsWith('TargetLostDataError: ');
    const listed: ListedItem[] = [...Object.entries(sets).map(([name, counters]) => ({ kind: 'set' as const, name, counters })), ...Object.entries(queues).map(([name, counters]) => ({ kind: 'queue' as const, name, counters }))];
    const at = failures.findIndex(isLossLine);
    const kept = failures.filter((f) => !isLossLine(f));
    kept.splice(at < 0 ? kept.length : Math.min(at, kept.length), 0, { kind: 'execution', name: first.runId, error: `TargetLostDataError: ${targetLossLine(first.runId, losses, listed, unlisted)}` });
    failures.splice(0, failures.length, ...kept);
  }
  // What is left on the source is what the execution that ended the run saw (`endedRun`): every
  // other one looked while the run still moved (one started last may end first, and its look
  // found another's slice in flight), and the last one's look at queues whose items ended counts
  // every execution's. Without that mark (a dry run ends no execution; an older summary), the
  // last one started.
  const ending = chain.find((e) => e.summary.endedRun === true) ?? chain[chain.length - 1]!;
  // Its sets and queues last: it lists a queue whose item ended elsewhere with what arrived there since.
  if (ending !== chain[chain.length - 1]) {
    Object.assign(sets, ending.summary.sets);
    Object.assign(queues, ending.summary.queues);
  }
  // Superseded by a later start of the run, in any execution of the chain (a continuation whose
  // plan or page found it): the chain's verdict is that start's to give, not "run it again".
  const superseded = chain.map((e) => e.summary.superseded).reduce<RunSummary['superseded']>((a, b) => (b && (!a || b.laterPlannedAt > a.laterPlannedAt) ? b : a), undefined);
  const { leftOnSource, leftOnSourceLists, quarantinedInLists, inflightOnTarget, inflightLeftOnSource, inflightStillOnSource, inflightOnSource, leftoverLooksCutShort, underOtherPrefixes, notLookedAt, heldByWorkers, selectedArrivalsCutShort, setArrivalsCutShort, deadSetOverCap } = ending.summary;
  return {
    ...first,
    sets,
    queues,
    unlisted,
    totals,
    counts: { ...counts, continued: notFollowed },
    failures,
    continuedIn: pending,
    complete: counts.failed === 0 && failures.length === 0 && notFollowed === 0 && superseded === undefined,
    ...(superseded ? { superseded } : {}),
    ...(leftOnSource ? { leftOnSource, leftOnSourceLists } : { leftOnSource: undefined, leftOnSourceLists: undefined }),
    ...(quarantinedInLists ? { quarantinedInLists } : { quarantinedInLists: undefined }),
    ...(inflightOnTarget ? { inflightOnTarget } : { inflightOnTarget: undefined }),
    ...(inflightLeftOnSource ? { inflightLeftOnSource } : { inflightLeftOnSource: undefined }),
    ...(inflightStillOnSource ? { inflightStillOnSource } : { inflightStillOnSource: undefined }),
    ...(inflightOnSource ? { inflightOnSource } : { inflightOnSource: undefined }),
    // And how far its looks for them got.
    ...(leftoverLooksCutShort ? { leftoverLooksCutShort } : { leftoverLooksCutShort: undefined }),
    ...(underOtherPrefixes ? { underOtherPrefixes } : { underOtherPrefixes: undefined }),
    ...(notLookedAt ? { notLookedAt } : { notLookedAt: undefined }),
    ...(heldByWorkers ? { heldByWorkers } : { heldByWorkers: undefined }),
    ...(selectedArrivalsCutShort ? { selectedArrivalsCutShort } : { selectedArrivalsCutShort: undefined }),
    ...(setArrivalsCutShort ? { setArrivalsCutShort } : { setArrivalsCutShort: undefined }),
    // A dry run's forecast is the execution's where `dead` ended (its count of what a run would write); a run's, the last look.
    ...(first.dryRun ? { deadSetOverCap: chain.map((e) => e.summary.deadSetOverCap).filter((d) => d !== undefined).at(-1) } : deadSetOverCap ? { deadSetOverCap } : { deadSetOverCap: undefined }),
    ...(unheard ? { unheard } : {}),
    ...(unheardSilent ? { unheardSilent } : {}),
    ...(leftUnheard ? { leftUnheard } : {}),
    ...(leftUnheardInSets ? { leftUnheardInSets } : {}),
    ...(leftUnheardSilent ? { leftUnheardSilent } : {}),
    ...(leftInSetsUnheardSilent ? { leftInSetsUnheardSilent } : {}),
    // Each execution counted the set items that ended in it: the entries add up.
    ...(unreadableInSets > 0 ? { leftInSetsUnreadable: { jobs: unreadableInSets } } : { leftInSetsUnreadable: undefined }),
  };
}

/**
 * Two executions' set entries left naming queues nobody fetches (RunSummary.leftUnheardInSets) as
 * one: each execution counted the set items that ended in it, so the entries add up (combineUnheard),
 * and so do those it did not check.
 */
function combineLeftUnheardInSets(a: RunSummary['leftUnheardInSets'], b: RunSummary['leftUnheardInSets']): RunSummary['leftUnheardInSets'] {
  const both = combineUnheard(a, b);
  if (!both) return undefined;
  const jobs = (a?.unchecked?.jobs ?? 0) + (b?.unchecked?.jobs ?? 0);
  return { ...both, ...(jobs > 0 ? { unchecked: { jobs } } : {}) };
}

/** Two executions' queues left where nobody fetches (RunSummary.leftUnheard) as one: combineUnheard, and the unchecked added. */
function combineLeftUnheard(a: RunSummary['leftUnheard'], b: RunSummary['leftUnheard']): RunSummary['leftUnheard'] {
  const both = combineUnheard(a, b);
  if (!both) return undefined;
  const unchecked = { queues: (a?.unchecked?.queues ?? 0) + (b?.unchecked?.queues ?? 0), jobs: (a?.unchecked?.jobs ?? 0) + (b?.unchecked?.jobs ?? 0) };
  return { ...both, ...(unchecked.queues > 0 ? { unchecked } : {}) };
}

/**
 * The chain's destinations, the largest named: added in the order the executions started, the
 * first execution's fifty names filled the totals, and a set that ran in an execution of its own
 * (set-apart.ts: `schedule` 50,000 of a move) was counted under OTHER_QUEUES while queues of a
 * thousand jobs were named. The sum is the same; the names are those of the most jobs.
 */
function largestDestinationsNamed(totals: RerouteCounters | TransferCounters, mode: RunSummary['mode'], chain: readonly ExecutionSummary[]): void {
  if (chain.length < 2) return;
  const key = mode === 'reroute' ? 'movedTo' : 'writtenTo';
  const all: Record<string, number> = {};
  for (const { summary } of chain) {
    for (const [queue, n] of Object.entries((summary.totals as unknown as Record<string, Record<string, number> | undefined>)[key] ?? {})) all[queue] = (all[queue] ?? 0) + n;
  }
  const largestFirst = Object.entries(all).sort(([a, x], [b, y]) => (a === OTHER_QUEUES ? 1 : b === OTHER_QUEUES ? -1 : y - x));
  const named: Record<string, number> = {};
  // One at a time, in that order (an object would put a queue named like an integer first).
  for (const [queue, n] of largestFirst) addDestinations(named, { [queue]: n });
  (totals as unknown as Record<string, Record<string, number>>)[key] = named;
}
