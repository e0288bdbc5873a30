import type { Redis } from 'ioredis';
import { DryRunListTooLongError } from '../errors/dry-run-list-too-long-error.js';
import { FatalError } from '../errors/sidekiq-migrate-error.js';
import { InputError } from '../errors/input-error.js';
import { displayName } from '../redis/key-name.js';
import type { SortedSetName } from '../redis/sidekiq-keys.js';
import { keyspaceCut, type ScanBound } from '../redis/bounded-scan.js';
import { walkForLooks } from '../redis/shared-walk.js';
import { discoverQueues, queueDiscoveryLook, refuseQueueKeysOfAnotherType, type SkippedKey } from '../reroute/discover-queues.js';
import { splitDrainedQueues } from '../reroute/drained-queues.js';
import { emptyCounters } from '../reroute/reroute-counters.js';
import { MAX_QUEUE_NAME_BYTES } from '../routing/queue-name-bytes.js';
import { isDrainedQueue, type RoutingPlan } from '../routing/routing-plan.js';
import { emptyTransferCounters } from '../transfer/transfer-counters.js';
import type { Connection } from './connections.js';
import type { RunTally } from './run-tally.js';
import type { RunSettings, WorkItem } from './work-item.js';

/**
 * Items migrated per loop of the state machine (one Map over the batch): small enough that a
 * batch of results, even all failed with their messages, stays far below 256 KiB.
 */
export const BATCH_SIZE = 10;

/**
 * Loops ("batches") one execution runs before it continues the rest of its list in a new
 * execution. A loop is at most 73 history events (a Choice 2, the Distributed Map 6, "Add up…" 5
 * plus 3 per retry, 20 retries at most): 340 loops are 24,820, below the 25,000 of an execution
 * with its plan, hand-over and summary (163 at most: 24,983). See docs/state-machine.md.
 */
export const BATCHES_PER_EXECUTION = 340;

/**
 * Where an execution is in its work, carried through the loop instead of the items themselves:
 * the next batch, where the list goes on, and the bounded tally of the items that ended.
 */
export interface WorkState {
  readonly batch: WorkItem[];
  /** Position in the run's list of the item after this batch; null: the list ends with this batch. */
  readonly next: number | null;
  /** Whether `batch` has items (the state machine's Choice reads it). */
  readonly more: boolean;
  /** Batches this execution has started. */
  readonly batches: number;
  /** Set when the rest of the list, from this position, continues in a new execution. */
  readonly continueAt?: number;
  /** With continueAt: the name the state machine starts that execution under (continuation-name.ts). */
  readonly continueAs?: string;
  readonly tally: RunTally;
}

/** Name of a work item as the list stores it. */
export interface ListedWork {
  readonly kind: 'set' | 'queue';
  readonly name: string;
}

/**
 * Items of a run's list one LRANGE reads at most, when the whole list is read (readWholeWorkList):
 * Redis serves nothing else while it builds a reply (~0.3 µs an item: 3 ms for 10,000 queues).
 */
export const WORK_LIST_ITEMS_PER_READ = 1_000;

/**
 * A run's whole list (none: empty), read WORK_LIST_ITEMS_PER_READ items a call. Only a plan writes
 * the list, under the run's lock, which the reader's run holds: the pages are of one list.
 */
export async function readWholeWorkList(redis: Redis, key: string): Promise<ListedWork[]> {
  const all: ListedWork[] = [];
  for (let from = 0; ; from += WORK_LIST_ITEMS_PER_READ) {
    const page = await redis.lrange(key, from, from + WORK_LIST_ITEMS_PER_READ - 1);
    for (const text of page) all.push(JSON.parse(text) as ListedWork);
    if (page.length < WORK_LIST_ITEMS_PER_READ) return all;
  }
}

/** A run's list of sets and queues, on the source (7 days: continuations read it), stored by its plan (store-run-plan.ts). */
export const workListKey = (prefix: string, runId: string): string => `${prefix}sidekiq-migrate:${runId}:items`;

/**
 * Lists what a run works on: the selected sets (`interrupted` only when it exists), then every queue to drain (re-route: those that
 * are not routing destinations; transfer: all), in name order. `discovered`: the source's queue
 * lists as a walk of its keyspace found them (the plan's: plan-walk.ts); found by one otherwise.
 */
export async function listWork(
  settings: Pick<RunSettings, 'mode' | 'sets' | 'queues'>,
  source: Connection,
  plan: RoutingPlan | undefined,
  discovered?: { readonly queues: string[]; readonly skipped: SkippedKey[] },
): Promise<ListedWork[]> {
  // GitLab's `interrupted` exists only where its reliable fetcher ran: listed when it is there.
  const interruptedMissing = settings.sets.includes('interrupted') && (await source.redis.exists(source.keys.sortedSet('interrupted'))) === 0;
  const work: ListedWork[] = settings.sets.filter((set) => !(set === 'interrupted' && interruptedMissing)).map((set) => ({ kind: 'set', name: set }));
  if (settings.queues) {
    const all = discovered ?? (await discoverQueues(source.redis, source.keys));
    work.push(...listableQueues(settings.mode, source, plan, all).map((queue): ListedWork => ({ kind: 'queue', name: queue })));
  }
  return work;
}

/**
 * Refuses, as listWork would, a run with a queue it cannot take (a queue key of another type, a
 * name too long), from the queue lists the plan's walk found: reads nothing. The plan step asks
 * before it takes any lock or writes anything (plan-step.ts), so that the refusal leaves both
 * servers as they were; listWork asks again under the locks.
 */
export function refuseUnlistableQueues(settings: Pick<RunSettings, 'mode' | 'queues'>, source: Connection, plan: RoutingPlan | undefined, discovered: { readonly queues: string[]; readonly skipped: SkippedKey[] } | undefined): void {
  if (settings.queues && discovered) listableQueues(settings.mode, source, plan, discovered);
}

/** The queues a run lists (a re-route's: those it drains), refused whole when one cannot be taken. */
function listableQueues(mode: RunSettings['mode'], source: Connection, plan: RoutingPlan | undefined, all: { readonly queues: string[]; readonly skipped: SkippedKey[] }): string[] {
  const found = mode === 'reroute' ? splitDrainedQueues({ queues: [...all.queues], skipped: [...all.skipped] }, plan!) : all;
  const queues = 'drained' in found ? found.drained : found.queues;
  // Before the run's first page, and before any lock or write (refuseUnlistableQueues).
  const drains = mode === 'reroute' ? (queue: string) => isDrainedQueue(plan!, queue) : () => true;
  refuseQueueKeysOfAnotherType(found.skipped, drains, `source ${source.name}`, 'the run stopped before its first page.');
  refuseLongQueueNames(queues);
  return [...queues];
}

export { MAX_QUEUE_NAME_BYTES };

function refuseLongQueueNames(queues: readonly string[]): void {
  const long = queues.filter((q) => Buffer.byteLength(q, 'utf8') > MAX_QUEUE_NAME_BYTES);
  if (long.length === 0) return;
  const first = long[0]!;
  const shown = `queue:${displayName(first).slice(0, 40)}… (${Buffer.byteLength(first, 'utf8')} bytes)`;
  throw new InputError(
    `${long.length} queue(s) have a name longer than ${MAX_QUEUE_NAME_BYTES} bytes, such as ${shown}: a run carries queue names through the state machine's states (256 KiB each), so it takes names of at most ${MAX_QUEUE_NAME_BYTES} bytes. Rename that key, or delete it if it is no Sidekiq queue; the run stopped before its first page.`,
  );
}

/**
 * Up to `count` items from position `from`, with their sizes (for progress). A dry run writes
 * nothing, not even its list: it lists again, and on a live Sidekiq a queue's list comes and goes
 * with its jobs, so another container's listing is not the one `from` counted in (on AWS the plan
 * function lists the first batch, the summarize function the next ones). A dry run's batch goes
 * on after `after`, the last item of the batch before it, wherever that is now.
 */
export async function readWork(
  settings: RunSettings,
  source: Connection,
  plan: RoutingPlan | undefined,
  from: number,
  count: number,
  after?: ListedWork,
  listBound: ScanBound = {},
): Promise<{ items: WorkItem[]; next: number | null }> {
  let listed: ListedWork[];
  let length: number;
  if (settings.dryRun) {
    const all = await dryRunList(settings, source, plan, listBound, after);
    if (after) from = positionAfter(all, after, from);
    listed = all.slice(from, from + count);
    length = all.length;
  } else {
    const key = workListKey(source.keys.prefix, settings.runId);
    const [range, len] = (await source.redis.multi().lrange(key, from, from + count - 1).llen(key).exec()) ?? [];
    if (!range || range[0] || !len || len[0]) throw range?.[0] ?? len?.[0] ?? new Error(`could not read the work list of run ${settings.runId}`);
    listed = (range[1] as string[]).map((text) => JSON.parse(text) as ListedWork);
    length = Number(len[1]);
    // A position after the first is asked for because the list went on there: no list at all
    // means it is gone (it has a TTL, which volatile-* eviction may take), and ending here would
    // leave every item after it undone.
    if (from > 0 && length === 0) throw workListGone(key, from);
  }
  const items = await withSizes(source, listed.map((w) => freshItem(settings.mode, w)));
  return { items, next: from + listed.length < length ? from + listed.length : null };
}

function workListGone(key: string, from: number): FatalError {
  return new FatalError(
    `The run's list of sets and queues (${key}) is no longer on the source (evicted under a volatile-* maxmemory-policy, or deleted): ` +
      `the sets and queues from position ${from + 1} of it on were not worked on.`,
  );
}

/**
 * Where a listing goes on after `after`: just after it, or where it would be (sets come first, in
 * their fixed order; queues follow in name order, listWork's order), or at `from` for a set the
 * listing no longer has (`interrupted`).
 */
function positionAfter(all: readonly ListedWork[], after: ListedWork, from: number): number {
  const at = all.findIndex((w) => w.kind === after.kind && w.name === after.name);
  if (at >= 0) return at + 1;
  if (after.kind === 'set') return Math.min(from, all.length);
  const later = all.findIndex((w) => w.kind === 'queue' && w.name > after.name);
  return later >= 0 ? later : all.length;
}

// A dry run's list, per run, kept by the process (a warm Lambda container serves many batches of
// the same run): listed once per container instead of once per batch.
const dryRunLists = new Map<string, Promise<ListedWork[]>>();

const dryRunListKey = (settings: Pick<RunSettings, 'runId' | 'planId'>, source: Connection) => `${source.name}\u0000${source.keys.prefix}\u0000${settings.runId}\u0000${settings.planId ?? ''}`;

/** A dry run's list as its plan made it: its first batch (readWork) reads it, rather than walking the keyspace again. */
export function rememberDryRunList(settings: Pick<RunSettings, 'runId' | 'planId'>, source: Connection, listed: ListedWork[]): void {
  if (dryRunLists.size >= 4) dryRunLists.clear();
  dryRunLists.set(dryRunListKey(settings, source), Promise.resolve(listed));
}

/**
 * `bound`: when the walk for queue lists of a process that has not got the list must have reached
 * the end (it runs inside a task with its function's timeout); one that has not stops the dry run
 * with DryRunListTooLongError, never a shorter list.
 */
function dryRunList(settings: RunSettings, source: Connection, plan: RoutingPlan | undefined, bound: ScanBound, after: ListedWork | undefined): Promise<ListedWork[]> {
  const key = dryRunListKey(settings, source);
  let listed = dryRunLists.get(key);
  if (!listed) {
    if (dryRunLists.size >= 4) dryRunLists.clear();
    listed = boundedDiscovery(settings, source, bound, after).then((discovered) => listWork(settings, source, plan, discovered));
    listed.catch(() => dryRunLists.delete(key));
    dryRunLists.set(key, listed);
  }
  return listed;
}

/** The source's queue lists, as listWork takes them (none asked for: undefined), from one walk that must reach the end by `bound`. */
async function boundedDiscovery(settings: RunSettings, source: Connection, bound: ScanBound, after: ListedWork | undefined): Promise<{ queues: string[]; skipped: SkippedKey[] } | undefined> {
  if (!settings.queues) return undefined;
  const clock = bound.clock ?? Date.now;
  const started = clock();
  const look = queueDiscoveryLook(source.redis, source.keys);
  const [extent] = await walkForLooks(source.redis, [look], bound, `Looking over the keys of source ${source.name} for queue lists (SCAN)`);
  if (extent?.cutShort === 'time') {
    const where = after ? `${after.kind} ${displayName(after.name)}` : undefined;
    throw new DryRunListTooLongError(`source ${source.name}`, where, await keyspaceCut(source.redis, extent.pages), (clock() - started) / 1000);
  }
  return look.result();
}

export function freshItem(mode: 'reroute' | 'transfer', work: ListedWork): WorkItem {
  return { kind: work.kind, name: work.name, cursor: null, done: false, iteration: 0, counters: mode === 'reroute' ? emptyCounters() : emptyTransferCounters() };
}

/**
 * Jobs in the listed sets and queues now (ZCARD, LLEN), summed: the planned total that progress
 * measures against. Pipelined by 1,000 so that a list of 100,000 queues stays a few round trips.
 */
export async function countJobs(source: Connection, listed: readonly ListedWork[]): Promise<number> {
  let total = 0;
  for (let i = 0; i < listed.length; i += 1000) {
    const sizes = source.redis.pipeline();
    for (const w of listed.slice(i, i + 1000)) {
      if (w.kind === 'set') sizes.zcard(source.keys.sortedSet(w.name as SortedSetName));
      else sizes.llen(source.keys.queue(w.name));
    }
    for (const [, size] of (await sizes.exec()) ?? []) total += Number(size ?? 0);
  }
  return total;
}

async function withSizes(source: Connection, items: WorkItem[]): Promise<WorkItem[]> {
  if (items.length === 0) return items;
  const sizes = source.redis.pipeline();
  for (const item of items) {
    if (item.kind === 'set') sizes.zcard(source.keys.sortedSet(item.name as SortedSetName));
    else sizes.llen(source.keys.queue(item.name));
  }
  const totals = (await sizes.exec()) ?? [];
  return items.map((item, i) => ({ ...item, total: Number(totals[i]?.[1] ?? 0) }));
}
