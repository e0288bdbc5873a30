import type { Redis } from 'ioredis';
import { jobEntry } from './exact-jobs.js';
import { sidekiqPayload } from './sidekiq-jobs.js';

/**
 * `count` jobs on queue:default (args [i]) and `count` entries in schedule (args [100000 + i],
 * score 2e9 + i), in one LPUSH and one ZADD: all of them, as jobEntry prints them, sorted.
 */
export async function seedQueueAndSchedule(client: Redis, count: number): Promise<string[]> {
  const all: string[] = [];
  const queued: string[] = [];
  const scheduled: (string | number)[] = [];
  for (let i = 0; i < count; i++) {
    const payload = sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]` });
    queued.push(payload);
    all.push(jobEntry('queue:default', payload));
    const entry = sidekiqPayload({ className: 'A', queue: 'default', args: `[${100_000 + i}]` });
    scheduled.push(2e9 + i, entry);
    all.push(jobEntry('schedule', entry, String(2e9 + i)));
  }
  await client.lpush('queue:default', ...queued);
  await client.zadd('schedule', ...scheduled);
  return all.sort();
}
