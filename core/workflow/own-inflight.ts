import type { Redis } from 'ioredis';
import { classifyRedisError } from '../redis/redis-errors.js';
import { redisKey } from '../redis/key-name.js';
import { SORTED_SET_NAMES, type SidekiqKeys } from '../redis/sidekiq-keys.js';
import type { InflightLeftover } from '../transfer/resume-inflight.js';
import { readWholeWorkList, workListKey } from './work-list.js';

/**
 * The plan walks the source's keyspace before it takes the run's locks (plan-walk.ts). Until it
 * holds them, an earlier execution of the same run (one this start supersedes: `start --resume`,
 * a redriven execution) may still claim jobs into this run's in-flight keys, after the walk went
 * past them: left there, the run would end with them in flight. No other run claims meanwhile
 * (the lock is one a prefix), and this run's in-flight keys are named by what it works on: every
 * set, every queue the walk found, and every queue of the run's stored list (a claim may empty a
 * queue, and Redis deletes an empty list). Read after the locks (one pipeline a 1,000 keys), and
 * added to the leftovers the walk found; sorted by key, as they are.
 */
export async function withOwnInflight(redis: Redis, keys: SidekiqKeys, runId: string, found: readonly InflightLeftover[], queues: readonly string[]): Promise<InflightLeftover[]> {
  const doing = `Looking for jobs run ${runId} claimed while this plan looked over the keys`;
  try {
    const listed = (await readWholeWorkList(redis, workListKey(keys.prefix, runId))).flatMap((work) => (work.kind === 'queue' ? [work.name] : []));
    const known = new Set(found.map((l) => l.key));
    const sourceKeys = [...SORTED_SET_NAMES, ...new Set([...queues, ...listed].map((q) => `queue:${q}`))];
    const candidates = sourceKeys.map((sourceKey) => ({ sourceKey, key: `${keys.prefix}sidekiq-migrate:${runId}:inflight:${sourceKey}` })).filter((c) => !known.has(c.key));
    const added: InflightLeftover[] = [];
    for (let i = 0; i < candidates.length; i += 1000) {
      const page = candidates.slice(i, i + 1000);
      const pipeline = redis.pipeline();
      for (const c of page) pipeline.type(redisKey(c.key)).llen(redisKey(c.key)).zcard(redisKey(c.key));
      const replies = (await pipeline.exec()) ?? [];
      page.forEach((c, j) => {
        const [[typeError, type], list, zset] = [replies[3 * j] ?? [new Error('no reply')], replies[3 * j + 1]!, replies[3 * j + 2]!];
        if (typeError) throw typeError;
        if (type !== 'list' && type !== 'zset') return;
        // The size by its type: the other command's WRONGTYPE means nothing.
        const [sizeError, size] = type === 'list' ? list : zset;
        if (sizeError) throw sizeError;
        added.push({ key: c.key, runId, sourceKey: c.sourceKey, type, size: Number(size) });
      });
    }
    if (added.length === 0) return [...found];
    return [...found, ...added].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  } catch (error) {
    throw classifyRedisError(error, doing);
  }
}
