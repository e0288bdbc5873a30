import type { Redis, RedisKey } from 'ioredis';
import { inspectJobRoute } from '../payload/inspect-job.js';
import { jobsWithinBytes } from '../redis/page-bytes.js';
import { OTHER_QUEUES } from '../reroute/reroute-counters.js';
import { SIDEKIQ_DEFAULT_QUEUE } from '../routing/routing-plan.js';

/*
 * What a transfer's set pass left in the source's `schedule`, `retry` or `dead` set, by the queue
 * each entry names (TransferCounters.leftInSets). The source's Sidekiq polls those entries and
 * pushes each, when due (a dead one, when retried), to that queue on the source: an operator
 * retiring the old Redis needs to know which queues' jobs stay there, not only how many. Counted
 * from what the set holds when its pass ends (conflicts given back, entries added while it ran,
 * a selection's other classes, unparsable entries), read in pages, never logged per entry.
 */

/** Per set (`schedule`, `retry`, `dead`), per queue named, the entries left there. */
export type LeftInSets = Record<string, Record<string, number>>;

/** Where entries whose payload cannot be read are counted: their queue is not known. */
export const UNPARSABLE_ENTRIES = '(unparsable)';

/**
 * Queue names one set's count keeps at most, of MAX_LEFT_NAME_BYTES together; the rest are added
 * up under OTHER_QUEUES. These counters travel in workflow states (256 KiB each; a Map batch holds
 * ten items, and the summary holds each set's counters beside the totals): three sets of 20 names
 * of 2 KiB together stay under 7 KiB each time, whatever the source holds.
 */
export const MAX_LEFT_QUEUES = 20;
export const MAX_LEFT_NAME_BYTES = 2_048;

/** Most entries per read of the set (fewer when they are large, page-bytes.ts), as countSelectedLeft reads (selected-left-count.ts). */
const COUNT_PAGE = 1000;

/** The queue an entry names, as Sidekiq's poller reads it (no `queue`: default), or UNPARSABLE_ENTRIES. */
export function queueNamedBy(member: Buffer): string {
  const job = inspectJobRoute(member);
  if (job.kind === 'unparsable') return UNPARSABLE_ENTRIES;
  return job.queue ?? SIDEKIQ_DEFAULT_QUEUE;
}

/** Adds `more` into one set's count, within MAX_LEFT_QUEUES names of MAX_LEFT_NAME_BYTES (the rest under OTHER_QUEUES). */
export function addLeftQueues(into: Record<string, number>, more: Record<string, number>): void {
  let named = Object.keys(into).filter((q) => q !== OTHER_QUEUES).length;
  let bytes = Object.keys(into).reduce((sum, q) => sum + Buffer.byteLength(q, 'utf8'), 0);
  for (const [queue, n] of Object.entries(more)) {
    if (n <= 0) continue;
    let key = queue;
    if (!(queue in into)) {
      const size = Buffer.byteLength(queue, 'utf8');
      if (queue === OTHER_QUEUES || named >= MAX_LEFT_QUEUES || bytes + size > MAX_LEFT_NAME_BYTES) key = OTHER_QUEUES;
      else named++;
      if (!(key in into)) bytes += Buffer.byteLength(key, 'utf8');
    }
    into[key] = (into[key] ?? 0) + n;
  }
}

/** Adds one counters' sets into another's (a pass's into its item's, items' into the run's totals). */
export function addLeftInSets(into: LeftInSets, more: LeftInSets): void {
  for (const [set, queues] of Object.entries(more)) addLeftQueues((into[set] ??= {}), queues);
}

/** Counts one entry under the queue it names, within the bounds (addLeftQueues). */
export function countLeftEntry(into: Record<string, number>, member: Buffer): void {
  addLeftQueues(into, { [queueNamedBy(member)]: 1 });
}

/**
 * Reads of the set countLeftInSet makes at most: a page task's time is bounded (a retry storm
 * during the pass could leave millions of entries), so past them the entries not read are counted
 * by ZCARD under OTHER_QUEUES — the set's total stays exact, only their queues go unnamed.
 */
export const MAX_COUNT_READS = 100;

/**
 * Every entry in `key` now, by the queue it names: read by rank in pages sized by `bytesPerJob`,
 * at most MAX_COUNT_READS of them (the rest counted, unnamed). A snapshot at the pass's end: an
 * entry the poller takes between two pages may move the ranks under the read (one entry missed or
 * counted twice), as any count read in pages.
 */
export async function countLeftInSet(source: Redis, key: RedisKey, bytesPerJob: number | undefined, maxReads = MAX_COUNT_READS): Promise<Record<string, number>> {
  const left: Record<string, number> = {};
  const size = jobsWithinBytes(bytesPerJob, COUNT_PAGE);
  let read = 0;
  for (let from = 0, reads = 0; ; from += size, reads++) {
    if (reads >= maxReads) {
      const unread = (await source.zcard(key)) - read;
      if (unread > 0) addLeftQueues(left, { [OTHER_QUEUES]: unread });
      break;
    }
    const page = await source.zrangeBuffer(key, String(from), String(from + size - 1));
    for (const member of page) countLeftEntry(left, member);
    read += page.length;
    if (page.length < size) break;
  }
  return left;
}
