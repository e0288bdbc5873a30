import { inflightIndexKey } from './inflight-index.js';
import { retireBeforePassEnd } from './retire-ledger.js';
import type { Redis, RedisKey } from 'ioredis';
import { generationArg } from '../redis/generation-arg.js';
import { LuaScript } from '../redis/lua-script.js';
import { runLockKey, runStopMarkerKey } from '../redis/run-lock.js';
import { expectedBytesPerJob, jobsWithinBytes, meanBytes } from '../redis/page-bytes.js';
import type { PageResult } from '../reroute/drive-pages.js';
import { addDestinations } from '../reroute/reroute-counters.js';
import { SIDEKIQ_DEFAULT_QUEUE } from '../routing/routing-plan.js';
import { carryScheduledJob } from './carry-job.js';
import { refusal } from './claim-calls.js';
import { claimRefusal } from './claim-refusal.js';
import { memberDigest, selectJob } from './class-selection.js';
import { newBatchId, setEntryId } from './ledger-id.js';
import { copyAndAcknowledgeSet, leftInSetOf, type SetTransferCursor, type SetTransferRequest } from './set-transfer.js';
import { countSelectedLeft, cutShort, type CountBound, type CountPosition, type SelectedLeft } from './selected-left-count.js';
import { addByClass, emptyTransferCounters, tallyCarried, type TransferCounters } from './transfer-counters.js';
import { acknowledgedKey, batchKey, conflictsKey, inflightKey, inflightSealKey, originalsKey } from './transfer-keys.js';
import { claimReplicated, sourceSocket } from './replicated-steps.js';
import { targetLockOf } from './write-to-target.js';

const claimSelectedSetEntries = new LuaScript('claimSelectedSetEntries-11', { encodeCalls: true });

/**
 * Where a class-selective pass over a sorted set stands (small: it goes into Step Functions state).
 * The pass reads by rank from the soonest entry; the poller removing due entries, Sidekiq adding
 * retries, scheduled jobs or dead ones, all move ranks, so the cursor keeps the last examined
 * entry that stayed (rank where last seen, exact score, SHA-1) and finds it again.
 */
export interface SelectiveSetCursor {
  /** The highest score the set held when the pass started (Redis's text); null: it was empty. Entries above it arrived since. */
  readonly endScore: string | null;
  readonly anchor: { readonly rank: number; readonly score: string; readonly digest: string } | null;
  /**
   * The pass is over, its count of what stays (selected-left-count.ts) cut short by its task's
   * time and carried on by the next task from `at`; `tasks`: the tasks it has read in so far. Its
   * counts so far are in the item's counters already (summed task by task).
   */
  readonly count?: { readonly at: CountPosition; readonly tasks: number; readonly unread: number };
}

/** How far from its last rank the anchor is looked for before falling back to its score. */
const NEAR = 16;

/**
 * One slice of a class-selective transfer of `schedule`, `retry` or `dead`: only entries whose
 * routed class is selected are taken, each only if it still has the score read
 * (claimSelectedSetEntries-11.lua, atomic); every other entry keeps its score and bytes. Then
 * written and acknowledged as a whole-set transfer does (copyAndAcknowledgeSet: ledger, conflicts).
 * Bounded by the highest score at the start, so a pass ends while entries keep arriving. Each read
 * takes as many entries as fit in MAX_PAGE_BYTES at the size seen so far (page-bytes.ts; carried
 * in the cursor, learnt from a few entries by the pass's first slice), never more than sliceSize.
 */
export async function transferSelectedSetSlice(request: SetTransferRequest, classes: ReadonlySet<string>): Promise<PageResult<SetTransferCursor, TransferCounters>> {
  const { source, sourceKeys, set } = request;
  const key = sourceKeys.sortedSet(set);
  const counters: TransferCounters = { ...emptyTransferCounters(), examined: 0, vanished: 0, unparsableLeft: 0, byClass: {} };
  const originals = originalsKey(sourceKeys.prefix, request.runId, set);
  const start = request.cursor ?? (await startCursor(source, key, request.dryRun ? null : { originals, generation: generationArg(request) }));
  const selection = start.selection ?? { endScore: null, anchor: null };
  let bytesPerJob = start.bytesPerJob;
  const result = (next: SelectiveSetCursor, claimed: number, done: boolean) => ({
    cursor: { limit: start.limit, claimed: start.claimed + claimed, selection: next, ...(bytesPerJob === undefined ? {} : { bytesPerJob }) },
    done,
    counters,
  });
  if (selection.count) {
    // The count carried on: nothing is claimed any more, the set is read on from where it stopped.
    const left = await countSelectedLeft(source, key, conflictsKey(sourceKeys.prefix, request.runId, set), originals, classes, bytesPerJob, { ...countBoundOf(request), from: selection.count.at });
    const carried = tellLeft(counters, set, left, selection.count.tasks + 1, request.countTasks);
    const { count: _, ...passed } = selection;
    return result(carried ? { ...passed, count: carried } : passed, 0, carried === undefined);
  }
  if (selection.endScore === null) {
    // Empty when the pass started: whatever a selected class added since stays, and is said.
    if (!request.dryRun) {
      await retireBeforePassEnd(request, set);
      const bytes = await expectedBytesPerJob(source, key, 'zset', bytesPerJob);
      const carried = tellLeft(counters, set, await countSelectedLeft(source, key, conflictsKey(sourceKeys.prefix, request.runId, set), originals, classes, bytes, countBoundOf(request)), 1, request.countTasks);
      if (carried) return result({ ...selection, count: carried }, 0, false);
    }
    return result(selection, 0, true);
  }
  const endScore = scoreValue(selection.endScore);

  // 1. The page after the anchor (or from the soonest entry): as many entries as fit in the bytes.
  const known = await expectedBytesPerJob(source, key, 'zset', bytesPerJob);
  const W = jobsWithinBytes(known, request.sliceSize);
  let page: { member: Buffer; score: string; rank: number }[];
  let anchorRank: number | null = null;
  if (selection.anchor === null) page = await readRanks(source, key, 0, W);
  else {
    const a = selection.anchor;
    const nearFrom = Math.max(0, a.rank - NEAR);
    const near = await readRanks(source, key, nearFrom, a.rank + NEAR + W + 1 - nearFrom);
    const at = near.findIndex((e) => e.score === a.score && memberDigest(e.member) === a.digest);
    if (at >= 0) {
      anchorRank = near[at]!.rank;
      // The read reaches W entries past any anchor found in it: a shorter page is the set's end.
      page = near.slice(at + 1, at + 1 + W);
    } else {
      // Gone (polled, deleted) or far: start at its score. Entries of equal score before it
      // are examined again, which is harmless; none after it is skipped.
      const from = await source.zcount(key, '-inf', `(${a.score}`);
      page = await readRanks(source, key, from, W);
    }
  }
  bytesPerJob = meanBytes(page.map((e) => e.member), known);
  const full = page.length === W;
  page = page.filter((e) => scoreValue(e.score) <= endScore);
  const last = !full || page.length < W;
  counters.examined = page.length;

  const chosen: { member: Buffer; score: string; rank: number; className: string }[] = [];
  for (const e of page) {
    const s = selectJob(e.member, classes);
    if (s.take) chosen.push({ ...e, className: s.className });
    else if (s.unparsable) {
      counters.unparsableLeft!++;
      // Left, naming no queue we can read (summarize-step.ts leftInSetsUnreadable).
      counters.unparsableInSets = (counters.unparsableInSets ?? 0) + 1;
    } else {
      // Left on the source: when due, its poller pushes it to the queue it names there (summarize-step.ts asks who fetches).
      addDestinations((counters.unselectedNaming ??= {}), { [s.queue ?? SIDEKIQ_DEFAULT_QUEUE]: 1 });
    }
  }
  const carry = (member: Buffer) => carryScheduledJob(member, request.plan, request.rewriteActiveJobQueueName ?? true);

  if (request.dryRun) {
    tallyCarried(counters, chosen.map((c) => carry(c.member)));
    for (const c of chosen) addByClass(counters, c.className, set);
    counters.claimed = counters.written = chosen.length;
    if (chosen.length > 0) counters.writtenTo[set] = chosen.length;
    const end = page.at(-1);
    const anchor = end ? { rank: end.rank, score: end.score, digest: memberDigest(end.member) } : selection.anchor;
    return result({ endScore: selection.endScore, anchor }, 0, last);
  }

  // 2. Claim (also returns what an interrupted attempt left in flight), write, acknowledge.
  const args: (string | Buffer)[] = [newBatchId(request.targetId), request.runId, generationArg(request)];
  for (const c of chosen) args.push(c.member, c.score);
  const conflicts = conflictsKey(sourceKeys.prefix, request.runId, set);
  // Nothing is claimed once the run was stopped or lost its lock on the source (as a whole-set claim).
  const claimedOn = sourceSocket(request);
  const [claimed, batchId, statuses, ...flat] = (await claimSelectedSetEntries.run(source, {
    keys: [
      key,
      inflightKey(sourceKeys.prefix, request.runId, set),
      batchKey(sourceKeys.prefix, request.runId, set),
      conflicts,
      inflightSealKey(sourceKeys.prefix, request.runId, set),
      runStopMarkerKey(sourceKeys.prefix, request.runId),
      runLockKey(sourceKeys.prefix),
      acknowledgedKey(sourceKeys.prefix, request.runId, set),
      inflightIndexKey(sourceKeys.prefix),
    ],
    args,
  })) as [number, Buffer, Buffer, ...Buffer[]];
  const refused = refusal(claimed);
  if (refused) throw claimRefusal(refused, request.runId, `on source ${request.sourceName ?? ''}`.trimEnd());
  const status = statuses.toString();
  counters.claimed = claimed;
  counters.resumed = flat.length / 2 - claimed;
  chosen.forEach((c, i) => {
    if (status[i] === '1') addByClass(counters, c.className, set);
    else if (status[i] === '0') counters.vanished!++;
  });
  const entries = [];
  for (let i = 0; i < flat.length; i += 2) {
    const member = flat[i]!;
    entries.push({ ...carry(member), member, id: setEntryId(batchId.toString(), member), score: flat[i + 1]!.toString('latin1') });
  }
  tallyCarried(counters, entries);
  // The source's replicas have the claim before its copy exists (replicated-steps.ts); the copy's are waited for by copyAndAcknowledgeSet.
  if (entries.length > 0) await claimReplicated(request, set, claimedOn, claimed === 0);
  await copyAndAcknowledgeSet({ ...request, targetLock: targetLockOf(request) }, set, batchId.toString(), entries, counters);

  // 3. The new anchor: the last examined entry still in the set, at its rank after the claim.
  const gone = new Map(chosen.map((c, i) => [c.rank, status[i] === '1' || status[i] === '0']));
  const taken = new Set(chosen.filter((_, i) => status[i] === '1').map((c) => c.rank));
  const stayer = page.filter((e) => !gone.get(e.rank)).at(-1);
  const below = (rank: number) => [...taken].filter((r) => r < rank).length;
  let anchor = selection.anchor;
  if (stayer) anchor = { rank: stayer.rank - below(stayer.rank), score: stayer.score, digest: memberDigest(stayer.member) };
  else if (anchor && anchorRank !== null) anchor = { ...anchor, rank: anchorRank };
  // What a selected class added meanwhile stays on the source: said, not hidden. Anywhere in the
  // set, not only above the pass's end: a retry Sidekiq adds (due sooner than the latest one) lands
  // among the ranks the pass already left behind. The conflicts it gave back are reported as such.
  if (last) {
    // Its ledger retired before its kept bound goes: a kill in between leaves the bound, which the next plan finds (retireBeforePassEnd).
    await retireBeforePassEnd(request, set);
    const carried = tellLeft(counters, set, await countSelectedLeft(source, key, conflicts, originals, classes, bytesPerJob, countBoundOf(request)), 1, request.countTasks);
    if (carried) return result({ endScore: selection.endScore, anchor, count: carried }, claimed, false);
  }
  return result({ endScore: selection.endScore, anchor }, claimed, last);
}

/**
 * An item's counters summed after a task (page-step.ts), its count being carried on said as such:
 * the entries not read yet in `leftUncounted` (so a run stopped or failed before the count's end
 * says "at least", never a partial count as whole), the number the task before said taken back.
 */
export function withCarriedCount(counters: TransferCounters, before: SetTransferCursor | null | undefined, after: SetTransferCursor | null | undefined): TransferCounters {
  const uncounted = (counters.leftUncounted ?? 0) - (before?.selection?.count?.unread ?? 0) + (after?.selection?.count?.unread ?? 0);
  const { leftUncounted: _, ...rest } = counters;
  return uncounted > 0 ? { ...rest, leftUncounted: uncounted } : rest;
}

/** The pass's count of what stays, within the page task's time (selected-left-count.ts). */
function countBoundOf(request: SetTransferRequest): CountBound {
  return { ...(request.deadline === undefined ? {} : { until: request.deadline }), ...(request.now ? { clock: request.now } : {}) };
}

/** What the pass's end count found into its counters: a count cut short says so (leftUncounted), its `selected` a floor. */
function tellLeft(counters: TransferCounters, set: SetTransferRequest['set'], read: SelectedLeft, tasks: number, maxTasks: number | undefined): SelectiveSetCursor['count'] {
  // Cut short, carried on by the next task while the count has tasks left: what this one read is
  // counted now (the item's counters sum task by task), the rest by the tasks after it.
  const carried = read.at !== undefined && tasks < (maxTasks ?? 1) ? { at: read.at, tasks, unread: read.unread! } : undefined;
  const ended = carried ? read : cutShort(read);
  counters.leftOnSource = ended.selected;
  if (ended.unread !== undefined && !carried) counters.leftUncounted = ended.unread;
  // Stopped by its cap of tasks, not by this task's time (which a next task would have carried on from): said as such (left-behind.ts countsCutShort).
  if (ended.unread !== undefined && !carried && read.at !== undefined && maxTasks !== undefined) [counters.leftUncountedAtCap, counters.countCap] = [ended.unread, maxTasks];
  const left = leftInSetOf(set, ended.byQueue);
  if (left) counters.leftInSets = left;
  return carried;
}

/**
 * The pass's start: its bound, the highest score the set holds now. Not a dry run (`kept`), the
 * bound is kept on the source (transfer-keys.ts originalsKey, `<score> <generation>`) before any
 * claim, and a retry of the pass's first slice by the same execution (its first attempt failed
 * after its claim, or its reply was lost: the task is retried with no cursor) takes the kept one:
 * read again, the highest score was that of entries added since (a worker's failure into retry,
 * due later), and the pass took them as originals, missing from what the summary said was added
 * during the run. Another execution's bound (an interrupted run's, no expiry) is replaced. The
 * pass deletes it when done.
 */
async function startCursor(source: Redis, key: string, kept: { originals: RedisKey; generation: string } | null): Promise<SetTransferCursor> {
  if (kept === null) {
    const [size, highest] = await Promise.all([source.zcard(key), source.zrange(key, '-1', '-1', 'WITHSCORES')]);
    return { limit: size, claimed: 0, selection: { endScore: highest[1] ?? null, anchor: null } };
  }
  const replies = await source.multi().zcard(key).zrange(key, '-1', '-1', 'WITHSCORES').get(kept.originals).exec();
  const size = replyAt<number>(replies, 0);
  let endScore = replyAt<string[]>(replies, 1)[1] ?? null;
  const stored = replyAt<string | null>(replies, 2)?.match(/^(\S+) (.*)$/s);
  if (stored && stored[2] === kept.generation) endScore = stored[1]!;
  else if (endScore !== null) await source.set(kept.originals, `${endScore} ${kept.generation}`);
  return { limit: size, claimed: 0, selection: { endScore, anchor: null } };
}

/** The reply of a MULTI's `i`th command; its error thrown (none is taken for an empty reply). */
function replyAt<T>(replies: [Error | null, unknown][] | null, i: number): T {
  const [error, value] = replies?.[i] ?? [new Error('MULTI aborted: no reply')];
  if (error) throw error;
  return value as T;
}

/** `count` entries from rank `from`, soonest first, with their scores as Redis prints them. */
async function readRanks(source: Redis, key: string, from: number, count: number): Promise<{ member: Buffer; score: string; rank: number }[]> {
  if (count <= 0) return [];
  const flat = await source.zrangeBuffer(key, from, String(from + count - 1), 'WITHSCORES');
  const entries = [];
  for (let i = 0; i < flat.length; i += 2) entries.push({ member: flat[i]!, score: flat[i + 1]!.toString('latin1'), rank: from + i / 2 });
  return entries;
}

/** A score as Redis prints it ("inf", "-inf" or a number) as a number. */
function scoreValue(text: string): number {
  if (text === 'inf' || text === '+inf') return Infinity;
  if (text === '-inf') return -Infinity;
  return Number(text);
}
