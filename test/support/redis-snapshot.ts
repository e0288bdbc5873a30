import type { Redis } from 'ioredis';
import { keysUnder } from './exact-jobs.js';

/**
 * Every job payload held in the lists and sorted sets under `prefix`, with where it is, as text
 * (exact-jobs.ts's jobsIn compares bytes; this is for tests that read or rewrite payloads).
 */
export async function allJobs(redis: Redis, prefix: string): Promise<{ key: string; payload: string; score?: string }[]> {
  const jobs: { key: string; payload: string; score?: string }[] = [];
  for (const key of await keysUnder(redis, prefix)) {
    const type = await redis.type(key);
    if (type === 'list') for (const payload of await redis.lrange(key, 0, -1)) jobs.push({ key, payload });
    if (type === 'zset') {
      const flat = await redis.zrange(key, 0, '-1', 'WITHSCORES');
      for (let i = 0; i < flat.length; i += 2) jobs.push({ key, payload: flat[i]!, score: flat[i + 1]! });
    }
  }
  return jobs;
}
