import type { Redis } from 'ioredis';
import { nameFromBytes, redisKey } from '../redis/key-name.js';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';

/** The places a drain check found empty, to look at again at once (jobsInOneLook). */
export interface LookedAt {
  /** Lists: queues (names, lossless), and other list keys as text (in-flight, quarantine, fetchers' private lists). */
  readonly queues: readonly string[];
  readonly lists: readonly string[];
  /** Sorted sets whose every entry counts (schedule, retry; in-flight sets), as text. */
  readonly sets: readonly string[];
  /** Queues named in `queues` that the check did not read: a queue that appears meanwhile is read too (unscoped checks). */
  readonly newQueues: boolean;
}

/**
 * Jobs in the places a drain check found empty, read again in one MULTI, which Redis runs with
 * nothing in between. The check reads queue after queue, set after set (ZSCAN pages: it cannot be
 * one command), so a job that Sidekiq moves meanwhile from a key it has not read yet to one it has
 * (the poller enqueueing a due entry, a worker's failure into `retry` from a fetcher's private list,
 * a fetcher's cleanup putting jobs back) is in none of its counts: it said drained over it. A job
 * that stays in Redis while it moves (Sidekiq 7's poller and reliable fetch move atomically) is in
 * this look. One Sidekiq holds in its memory only (6.x's poller between its ZREM and its push, a
 * job a basic fetcher runs) is in no look at Redis at all: `drained` is what Redis holds.
 */
export async function jobsInOneLook(redis: Redis, keys: SidekiqKeys, places: LookedAt): Promise<number> {
  try {
    return await look(redis, keys, places, 'multi');
  } catch (error) {
    // A user whose ACL refuses MULTI (a read-only `+@read` user) looks again all the same, in one
    // pipeline: not atomic (another client's command can come between two of its reads), but a
    // job must then move back across the keys read within one round trip to be missed again.
    // ioredis reports the refused MULTI at EXEC ('EXEC without MULTI'), the NOPERM among previousErrors.
    const earlier = (error as { previousErrors?: readonly Error[] }).previousErrors ?? [];
    if (![error as Error, ...earlier].some((e) => /NOPERM/i.test(String(e?.message)))) throw error;
    return look(redis, keys, places, 'pipeline');
  }
}

async function look(redis: Redis, keys: SidekiqKeys, places: LookedAt, how: 'multi' | 'pipeline'): Promise<number> {
  const look = how === 'multi' ? redis.multi() : redis.pipeline();
  for (const queue of places.queues) look.llen(keys.queue(queue));
  for (const key of places.lists) look.llen(redisKey(key));
  for (const key of places.sets) look.zcard(redisKey(key));
  if (places.newQueues) look.smembersBuffer(keys.queues);
  const replies = (await look.exec()) ?? [];
  let found = 0;
  const counts = places.queues.length + places.lists.length + places.sets.length;
  for (let i = 0; i < counts; i++) {
    const [error, size] = replies[i] ?? [new Error('no reply')];
    if (error) throw error;
    found += Number(size);
  }
  if (!places.newQueues) return found;
  // A queue that appeared in `queues` after the check listed them: read now (a job moved there and
  // on again would be found where it went, in a later check). So is every queue `queues` names
  // whose list was not there when the check listed them (GitLab's emptied queues stay in it): all
  // in one round trip, where one a queue took 40 s for 1,000 of them across 40 ms, past the check's time.
  const [error, members] = replies[counts] ?? [new Error('no reply')];
  if (error) throw error;
  const read = new Set(places.queues);
  const appeared = (members as Buffer[]).map(nameFromBytes).filter((q) => !read.has(q));
  if (appeared.length === 0) return found;
  const lengths = redis.pipeline();
  for (const queue of appeared) lengths.llen(keys.queue(queue));
  for (const [lengthError, size] of (await lengths.exec()) ?? []) {
    if (lengthError) throw lengthError;
    found += Number(size);
  }
  return found;
}
