import { randomUUID } from 'node:crypto';
import type { Redis, RedisKey } from 'ioredis';
import { generationArg } from '../redis/generation-arg.js';
import { LuaScript, type LuaCall } from '../redis/lua-script.js';
import { MAX_PAGE_BYTES } from '../redis/page-bytes.js';
import { MAX_JOBS_PER_CLAIM_CALL } from './transfer-options.js';

const claimQueueJobs = new LuaScript('claimQueueJobs-14', { encodeCalls: true });
const claimSetEntries = new LuaScript('claimSetEntries-16', { encodeCalls: true });

/**
 * A claim call's count when the run's stop marker exists, another run holds its lock, a later
 * execution of it does, or (the execution's generation known) the lock is gone or another run's past
 * its expiry (-5, lib/claim-lock.lua lockGone: a stale attempt after its run ended): it claimed nothing.
 */
const REFUSALS = new Map<unknown, NonNullable<SliceClaim<unknown>['refused']>>([
  [-2, 'stopped'],
  [-3, 'lock-lost'],
  [-4, 'superseded'],
  [-5, 'lock-gone'],
]);

/** Why a slice claimed nothing at all, when its first call refused (SliceClaim.refused); also a selective claim's count. */
export function refusal(count: unknown): SliceClaim<unknown>['refused'] {
  return REFUSALS.get(count);
}

/** How long a slice's claim chain lives without its last call: it only has to outlive one pipeline. */
const CHAIN_TTL_MS = 60_000;

/**
 * How long a set slice's seal lives (claimSetEntries-16.lua): it has to outlive the slice's write
 * on the target and its replicas' wait; one that expired first only costs the sealed acknowledge.
 */
export const SEAL_TTL_MS = 10 * 60_000;

/**
 * Why a slice's claim goes out as several Lua calls (MAX_JOBS_PER_CLAIM_CALL jobs each,
 * transfer-options.ts: one call of 250 kept the source busy too long), and why that is as safe as
 * one call:
 *
 * - The calls go out in order in one pipeline (one round trip, as the single call did). Each is
 *   atomic (guards.lua) and moves jobs from the source key into the in-flight key, as before: at
 *   every instant each job is in exactly one of them.
 * - Call k > 1 claims only if call k - 1 of the same slice (a random token) claimed its full share
 *   and the in-flight key is as that call left it (same batch, same size: the chain key,
 *   claimQueueJobs-14.lua; a set's also still under that call's seal, claimSetEntries-16.lua,
 *   since acknowledging part of a set's batch leaves its id as it was). So the slice's jobs are one run of positions in one batch, as one call
 *   would have claimed them; a call that ran out ('newest': the originals did) stops the later ones
 *   from claiming arrivals above the window; and a call that failed (an error reply, an OOM) leaves
 *   the calls before it claimed and consistent, and every later one harmless (it writes nothing).
 * - Any failed call fails the slice (runAll throws its error): what the calls before it claimed
 *   stays in flight, and the next attempt, or the resume of another run, writes and acknowledges
 *   it (resume-inflight.ts), as after a failure of the single call's write.
 * - Replies stay linear: call 1 returns what an interrupted attempt left in flight and its own
 *   claims, every later call only its own.
 * - Every call first looks for the run's stop marker and its lock on the source, and claims
 *   nothing while the marker exists or another run, or a later execution of the run, holds the
 *   lock: a slice whose first call meets either claims nothing at all (`refused`); one whose later
 *   call meets it ends its claim there, as when the chain breaks, and the next one is refused.
 */
function shares(want: number, perCall: number): number[] {
  const parts: number[] = [];
  for (let left = want; left > 0; left -= perCall) parts.push(Math.min(left, perCall));
  // Nothing to claim: one call all the same, which returns what is in flight.
  return parts.length === 0 ? [0] : parts;
}

/**
 * Why a slice's claim also takes a byte bound (ClaimRequest.maxBytes), when its count is already
 * sized by the payloads seen so far (page-bytes.ts jobsWithinBytes): that size is a guess. A slice
 * sized by jobs of ~1 KB that meets jobs of 2 MB would hold its whole count of them (1,000 × 2 MB
 * in a Lambda of 1 GB). The Lua calls count the bytes the slice holds (what call 1 finds in flight,
 * then each call's claims, passed on in the chain) and stop at the bound, so a slice holds at most
 * MAX_PAGE_BYTES of payloads, or a single larger job, whatever its count; the call that stopped
 * says so (`full`), which is not the source running out.
 */
/**
 * Appends the chain arguments of call `k` (0-based) of a slice of `count` calls to `args`: the
 * call's number, 'last' on the last call, the chain's time to live. (A queue call's chain token,
 * before them, is '' for a single call; a set call sends the token in every case.) Pushed, not
 * spread: plain code in the slice functions keeps their optimised code stable (issue #18).
 */
function pushChainArgs(args: (string | number)[], k: number, count: number): void {
  args.push(k + 1, k === count - 1 ? 'last' : '', CHAIN_TTL_MS);
}

export interface QueueClaimKeys {
  readonly queue: RedisKey;
  readonly inflight: RedisKey;
  readonly batch: RedisKey;
  readonly chain: RedisKey;
  /** The run's stop marker (run-lock.ts runStopMarkerKey): while it exists, nothing is claimed. */
  readonly stopMarker: RedisKey;
  /** The run lock on the source (run-lock.ts runLockKey): while another run holds it, nothing is claimed. */
  readonly lock: RedisKey;
  /** The pass's count of originals not claimed yet (transfer-keys.ts originalsKey, claimQueueJobs-14.lua KEYS[7]). */
  readonly originals: RedisKey;
  /** The source's index of in-flight keys (inflight-index.ts): each claim names its in-flight key there. */
  readonly inflightIndex: RedisKey;
}

export interface SliceClaim<T> {
  /** Jobs this slice moved from the source key into the in-flight key. */
  readonly claimed: number;
  /** The batch id as stored (`<id>`, or `<id>+<base>` for a queue: ledger-id.ts); '' when nothing is in flight. */
  readonly stored: string;
  /** Everything the slice holds in flight, in claim order: what an interrupted attempt left, then its claims. */
  readonly held: T[];
  /** A call claimed less than its share: the source had nothing more for this pass. */
  readonly ranOut: boolean;
  /** A call claimed less than its share because the slice reached its byte bound (ClaimRequest.maxBytes), not because the source ran out. */
  readonly full: boolean;
  /** The Lua calls sent. */
  readonly calls: number;
  /**
   * The slice's first call claimed nothing, returned nothing (not even what is in flight): the run
   * was stopped, or its lock on the source is another run's, or a later execution's of the run,
   * or (the execution's generation known) gone or another run's past its expiry ('lock-gone').
   */
  readonly refused?: 'stopped' | 'lock-lost' | 'superseded' | 'lock-gone' | undefined;
  /**
   * A queue's pass: the originals it has not claimed yet after this slice, as the claim counted them
   * on the source (claimQueueJobs-14.lua KEYS[7]); undefined when no call replied with it.
   */
  readonly originalsLeft?: number | undefined;
}

/** What a slice claims: up to `want` jobs; `newBatch`, the id a new batch gets (ledger-id.ts `newBatchId`). */
export interface ClaimRequest {
  readonly want: number;
  readonly newBatch: string;
  /** The run whose lock the claim looks for, and when its execution planned (the lock's plannedAt), when known. */
  readonly runId: string;
  readonly plannedAt?: number;
  /** The execution whose plan took the lock (its plannedBy), when known. */
  readonly plannedBy?: string;
  /** The most payload bytes the slice holds, in flight before it included (default MAX_PAGE_BYTES; see the note above chainArgs). */
  readonly maxBytes?: number;
}

/**
 * Claims up to `want` jobs of a queue into the in-flight list (claimQueueJobs-14.lua), in calls of
 * at most `perCall` (MAX_JOBS_PER_CLAIM_CALL) in one pipeline (see shares). `newest`: the newest of
 * the `remaining` originals the queue still holds (front placement); otherwise from the consumer end.
 */
export async function claimQueueSlice(
  source: Redis,
  keys: QueueClaimKeys,
  request: ClaimRequest & {
    readonly newest: boolean;
    readonly remaining: number;
    /**
     * `remaining` still counts what is in flight before the claim: a slice of this pass that
     * failed before its cursor counted it (claimQueueJobs-14.lua ARGV[12]). The claim takes that
     * many fewer, so that it never takes jobs that arrived since as originals. Not for the pass's
     * first slice (its count is the queue's length, without them), nor a claim sent ahead (its
     * cursor counts the slice still in flight before it).
     */
    readonly inflightCounted?: boolean;
    /**
     * How the pass's count on the source (keys.originals) is read (claimQueueJobs-14.lua ARGV[13]):
     * 'start', the pass's first slice (no cursor yet): the count this execution kept, else the
     * queue's length now; 'kept', a cursor of slices that kept it: no count means the pass is done;
     * absent, an older version's cursor: with no count, `remaining` (and `inflightCounted`).
     */
    readonly originalsCount?: 'start' | 'kept';
  },
  perCall = MAX_JOBS_PER_CLAIM_CALL,
): Promise<SliceClaim<Buffer>> {
  const parts = shares(request.want, perCall);
  const token = randomUUID();
  let before = 0;
  // Plain loops, no closures or spreads (issue #18: V8's optimised code stays valid; see the return).
  const calls: LuaCall[] = [];
  for (let k = 0; k < parts.length; k++) {
    const share = parts[k]!;
    const args: (string | number)[] = [share, request.newest ? 'newest' : 'oldest', request.newBatch, request.remaining - before, parts.length === 1 ? '' : token];
    pushChainArgs(args, k, parts.length);
    args.push(request.runId, generationArg(request), request.maxBytes ?? MAX_PAGE_BYTES, request.inflightCounted === true ? before : '', request.originalsCount ?? '');
    before += share;
    calls.push({ keys: [keys.queue, keys.inflight, keys.batch, keys.chain, keys.stopMarker, keys.lock, keys.originals, keys.inflightIndex], args });
  }
  // Each reply: [count, stored batch, first position, full, originals left, ...jobs]. Read by index
  // (plain loops keep V8's optimised code small: issue #18).
  const replies = (await claimQueueJobs.runAll(source, calls)) as (number | Buffer)[][];
  let claimed = 0;
  let ranOut = false;
  let full = false;
  let originalsLeft: number | undefined = undefined;
  const held: Buffer[] = [];
  const stored = (replies[0]![1] as Buffer).toString();
  for (let k = 0; k < replies.length; k++) {
    const reply = replies[k]!;
    const count = reply[0] as number;
    // -1: the chain did not hold; -2 to -5: refused (see refusal). This call and the later ones claimed nothing.
    if (count < 0) break;
    // The chain makes each call's claims follow the previous call's in the same batch.
    const first = reply[2] as number;
    if (first !== held.length) throw new Error(`claimQueueJobs: call ${k + 1} returned jobs from position ${first}, expected ${held.length}`);
    for (let i = 5; i < reply.length; i++) held.push(reply[i] as Buffer);
    claimed += count;
    originalsLeft = reply[4] as number;
    if (count < parts[k]!) {
      // Short of its share: the slice is full (its byte bound), or the queue ran out.
      if (reply[3] === 1) full = true;
      else ranOut = true;
      break;
    }
  }
  // `calls: parts.length` (one call a share), not `calls.length`: that read after the await was where
  // V8 deoptimised the function ("wrong map", --trace-deopt-verbose, issue #18). One result shape,
  // `refused` undefined when not refused, instead of a conditional spread.
  return { claimed, stored, held, ranOut, full, calls: parts.length, refused: refusal(replies[0]![0]), originalsLeft };
}

export interface SetClaimKeys {
  readonly set: RedisKey;
  readonly inflight: RedisKey;
  readonly batch: RedisKey;
  readonly conflicts: RedisKey;
  readonly chain: RedisKey;
  /** The run's stop marker (run-lock.ts runStopMarkerKey): while it exists, nothing is claimed. */
  readonly stopMarker: RedisKey;
  /** The run lock on the source (run-lock.ts runLockKey): while another run holds it, nothing is claimed. */
  readonly lock: RedisKey;
  /** The in-flight set's seal (transfer-keys.ts inflightSealKey). */
  readonly seal: RedisKey;
  /** The batch's record of written entries acknowledged while others stayed in flight (transfer-keys.ts acknowledgedKey). */
  readonly acknowledged: RedisKey;
  /** The pass's count of entries not claimed yet (transfer-keys.ts originalsKey, claimSetEntries-16.lua KEYS[10]). */
  readonly originals: RedisKey;
  /** The source's index of in-flight keys (inflight-index.ts): each claim names its in-flight key there. */
  readonly inflightIndex: RedisKey;
}

/** A set slice's claim: also the seal its calls left on the in-flight set, when it holds entries. */
export interface SetSliceClaim extends SliceClaim<ClaimedEntry> {
  /**
   * `<slice token>:<entries held>`: while the seal key still says this and the in-flight set has
   * that size, it holds exactly `held` (claimSetEntries-16.lua), and the acknowledge may delete it
   * (acknowledge.ts). Absent when nothing is held.
   */
  readonly seal?: string | undefined;
}

/** A claimed set entry as it is in flight: its bytes and its score as Redis prints it. */
export interface ClaimedEntry {
  readonly member: Buffer;
  readonly score: string;
}

/**
 * Claims up to `want` entries of a sorted set, soonest first, stepping over the run's conflicts
 * (claimSetEntries-16.lua), in calls of at most `perCall` (MAX_JOBS_PER_CLAIM_CALL) in one pipeline
 * (see shares), and seals the in-flight set for the slice (SetSliceClaim.seal).
 */
export async function claimSetSlice(source: Redis, keys: SetClaimKeys, request: ClaimRequest & { readonly originalsCount?: 'start' | 'kept' }, perCall = MAX_JOBS_PER_CLAIM_CALL): Promise<SetSliceClaim> {
  const parts = shares(request.want, perCall);
  const token = randomUUID();
  const callKeys = [keys.set, keys.inflight, keys.batch, keys.conflicts, keys.chain, keys.stopMarker, keys.lock, keys.seal, keys.acknowledged, keys.originals, keys.inflightIndex];
  // The token goes to a single call too: it seals (a single call writes no chain: it is the first and the last).
  const calls: LuaCall[] = [];
  for (let k = 0; k < parts.length; k++) {
    const args: (string | number)[] = [parts[k]!, request.newBatch, token];
    pushChainArgs(args, k, parts.length);
    args.push(request.runId, generationArg(request), SEAL_TTL_MS, request.maxBytes ?? MAX_PAGE_BYTES, request.originalsCount ?? '');
    calls.push({ keys: callKeys, args });
  }
  // Each reply: [count, stored batch, full, entries left (-1: not counted), member, score, member, score, ...], read by index.
  const replies = (await claimSetEntries.runAll(source, calls)) as (number | Buffer)[][];
  let claimed = 0;
  let ranOut = false;
  let full = false;
  let originalsLeft: number | undefined = undefined;
  const held: ClaimedEntry[] = [];
  const stored = (replies[0]![1] as Buffer).toString();
  for (let k = 0; k < replies.length; k++) {
    const reply = replies[k]!;
    const count = reply[0] as number;
    if (count < 0) break; // the chain did not hold (-1) or the call was refused (-2 to -5): this call and the later ones claimed nothing
    for (let i = 4; i < reply.length; i += 2) held.push({ member: reply[i] as Buffer, score: (reply[i + 1] as Buffer).toString('latin1') });
    claimed += count;
    originalsLeft = (reply[3] as number) < 0 ? undefined : (reply[3] as number);
    if (count < parts[k]!) {
      // Short of its share: the slice is full (its byte bound), or the set ran out.
      if (reply[2] === 1) full = true;
      else ranOut = true;
      break;
    }
  }
  // Every call that replied with entries (count >= 0) left the seal `<token>:<in-flight size>`, and held is the in-flight set.
  const seal = held.length > 0 ? `${token}:${held.length}` : undefined;
  // One shape in every case (`refused`, `seal` undefined when absent), as claimQueueSlice's.
  return { claimed, stored, held, ranOut, full, calls: parts.length, refused: refusal(replies[0]![0]), seal, originalsLeft };
}
