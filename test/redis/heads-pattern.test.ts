import { describe, expect, it } from 'vitest';
import { headsPattern } from '../../core/redis/heads-pattern.js';
import { privateRedis } from '../support/private-redis.js';

// The shared walk's MATCH (heads-pattern.ts) must keep every key under the looks' heads (a queue
// list it dropped would be a queue a run never drains), whatever glob characters the heads hold,
// and leave out most others (a superset: the looks keep exactly the keys under their heads).
const redis = privateRedis();

async function matched(pattern: string): Promise<string[]> {
  const found = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.client().scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    keys.forEach((k) => found.add(k));
    cursor = next;
  } while (cursor !== '0');
  return [...found].sort();
}

describe('headsPattern', () => {
  it.each([
    [['queue:', 'cron_jobs:', 'sidekiq-migrate:'], '[\\c\\q\\s][\\i\\r\\u][\\d\\e\\o][\\e\\n\\u][\\_\\e\\k][\\:\\i\\j]*'],
    [['p:queue:', 'p:sidekiq-migrate:'], 'p:[\\q\\s][\\i\\u][\\d\\e][\\e\\u][\\e\\k][\\:\\i]*'],
    [['a[^]-\\*?:queue:', 'a[^]-\\*?:cron_jobs:'], 'a\\[^\\]-\\\\\\*\\?:[\\c\\q][\\r\\u][\\e\\o][\\n\\u][\\_\\e][\\:\\j]*'],
    [['queue:', ''], '*'],
    [['é:queue:', 'é:cron_jobs:'], 'é:[\\c\\q][\\r\\u][\\e\\o][\\n\\u][\\_\\e][\\:\\j]*'],
  ])('%j: every key under them, not the caches', async (heads, pattern) => {
    expect(headsPattern(heads)).toBe(pattern);
    const under = heads.filter((h) => h !== '').flatMap((h) => [`${h}x`, `${h}`, `${h}a:b`]);
    const others = ['uniquejobs:digest:1', 'cache:queue:x', 'queue', 'queues', 'cron_job:default:x', 'sidekiq-migrate', 'p:queues', 'a[^]-\\*?:retry', 'é:retry'];
    const p = redis.client().pipeline();
    for (const key of [...under, ...others]) p.set(key, '1');
    await p.exec();

    const found = await matched(headsPattern(heads));

    expect(found).toEqual(expect.arrayContaining(under));
    if (!heads.includes('')) for (const key of ['uniquejobs:digest:1', 'cache:queue:x', 'queues', 'p:queues', 'a[^]-\\*?:retry', 'é:retry']) expect(found).not.toContain(key);
  });
});
