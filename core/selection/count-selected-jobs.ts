import type { Redis, RedisKey } from 'ioredis';
import { inspectJob } from '../payload/inspect-job.js';
import { redisKey } from '../redis/key-name.js';
import { jobsWithinBytes, meanBytes, PROBE_JOBS } from '../redis/page-bytes.js';
import { classifyRedisError } from '../redis/redis-errors.js';
import type { SidekiqKeys, SortedSetName } from '../redis/sidekiq-keys.js';
import { discoverQueues } from '../reroute/discover-queues.js';
import { routedClass } from '../routing/routed-class.js';

/** Where the jobs of the selected classes are, and how many. */
export interface SelectedJobCounts {
  /** class → where (a set's name, or `queue:NAME` with NAME lossless) → jobs. Only classes with jobs. */
  readonly byClass: Map<string, Map<string, number>>;
  /** where → jobs of the selection, for every set and queue read (0 included), in reading order. */
  readonly byKey: Map<string, number>;
  /** Jobs of the selection in all. */
  readonly selected: number;
  /** Jobs read in all (selected or not; unparsable ones are never selected). */
  readonly examined: number;
}

export interface CountSelectedOptions {
  readonly classes: readonly string[];
  readonly sets: readonly SortedSetName[];
  /** Read the queue lists too. */
  readonly queues: boolean;
  /**
   * Other lists to read, by key (text, lossless: key-name.ts), each counted under its own name:
   * the fetchers' private lists a drain check found, whose jobs come back to this Redis.
   */
  readonly lists?: readonly string[];
  /** Most entries per LRANGE/ZRANGE page (default 1,000). */
  readonly pageSize?: number;
  /** Most pages sent in one round trip (default 8). */
  readonly pagesPerTrip?: number;
}

/**
 * Counts, reading only, the jobs of the selected classes in each queue and set: pages of LRANGE
 * (queues) and ZRANGE by rank (sets), several pages per pipelined round trip, each job's routed
 * class read from its bytes (ActiveJob: `wrapped`). Memory stays bounded by classes × keys, never
 * by jobs, and by what one round trip carries: a key's first read takes a few jobs (PROBE_JOBS),
 * to learn their size, and each round trip after it as many as fit in MAX_PAGE_BYTES at the size
 * the one before saw (page-bytes.ts), at most `pagesPerTrip` pages of `pageSize` (8,000 jobs of
 * 2 MB in one round trip would be 16 GB). Producers and fetchers may change a list while it is
 * read: the counts are then a snapshot's approximation (a job shifted between pages can be counted
 * twice or missed), which is what a plan needs; the move itself claims member by member.
 */
export async function countSelectedJobs(redis: Redis, keys: SidekiqKeys, options: CountSelectedOptions): Promise<SelectedJobCounts> {
  const wanted = new Set(options.classes);
  const counts: { -readonly [K in keyof SelectedJobCounts]: SelectedJobCounts[K] } = { byClass: new Map(), byKey: new Map(), selected: 0, examined: 0 };
  const pageSize = options.pageSize ?? 1000;
  const trip = options.pagesPerTrip ?? 8;
  const tally = (where: string, payloads: readonly Buffer[]) => {
    for (const payload of payloads) {
      counts.examined++;
      const job = inspectJob(payload);
      if (job.kind !== 'job') continue;
      const cls = routedClass(job.className, job.wrapped);
      if (!wanted.has(cls)) continue;
      const perKey = counts.byClass.get(cls) ?? new Map<string, number>();
      perKey.set(where, (perKey.get(where) ?? 0) + 1);
      counts.byClass.set(cls, perKey);
      counts.byKey.set(where, (counts.byKey.get(where) ?? 0) + 1);
      counts.selected++;
    }
  };
  const readAll = async (where: string, key: RedisKey, kind: 'list' | 'zset') => {
    counts.byKey.set(where, 0);
    try {
      let bytesPerJob: number | undefined;
      for (let start = 0; ; ) {
        // The first trip is the probe (the first PROBE_JOBS jobs, which are also the first to count).
        const jobs = start === 0 ? Math.min(PROBE_JOBS, pageSize) : jobsWithinBytes(bytesPerJob, pageSize * trip);
        const pipeline = redis.pipeline();
        const asked: number[] = [];
        for (let from = start; from < start + jobs; from += pageSize) {
          const to = Math.min(start + jobs, from + pageSize) - 1;
          asked.push(to - from + 1);
          if (kind === 'list') pipeline.lrangeBuffer(key, from, to);
          else pipeline.zrangeBuffer(key, String(from), String(to));
        }
        const replies = (await pipeline.exec()) ?? [];
        let short = false;
        const read: Buffer[] = [];
        replies.forEach(([error, reply], i) => {
          if (error) throw error;
          const members = reply as Buffer[];
          tally(where, members);
          for (const member of members) read.push(member);
          if (members.length < asked[i]!) short = true;
        });
        if (short) return;
        start += jobs;
        bytesPerJob = meanBytes(read, bytesPerJob);
      }
    } catch (error) {
      throw classifyRedisError(error, `Counting the selected jobs of ${where}`);
    }
  };

  for (const set of options.sets) {
    if ((await redis.type(keys.sortedSet(set))) === 'zset') await readAll(set, keys.sortedSet(set), 'zset');
  }
  if (options.queues) {
    for (const queue of (await discoverQueues(redis, keys)).queues) await readAll(`queue:${queue}`, keys.queue(queue), 'list');
  }
  for (const list of options.lists ?? []) await readAll(list, redisKey(list), 'list');
  return counts;
}

/** The selected classes with no job at all where the count looked, in the selection's order. */
export const classesWithoutJobs = (classes: readonly string[], counts: SelectedJobCounts): string[] => classes.filter((c) => !counts.byClass.has(c));
