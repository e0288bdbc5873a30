// What the stale page-attempt tests (test/workflow/stale-claim-*.test.ts) seed and read: jobs of
// one class on queue `old` or in `schedule`, every job wherever it is (our in-flight keys too),
// the run's keys left without an expiry, and a latch to hold an attempt or a step.
import type { Redis } from 'ioredis';
import { jobEntry, jobsIn } from './exact-jobs.js';
import { sidekiqPayload } from './sidekiq-jobs.js';

/** `count` jobs of class A on queue `old` or in `schedule` of `client`, from `from` on: their entries as jobsIn lists them. */
export async function push(client: Redis, kind: 'queue' | 'set', from: number, count: number): Promise<string[]> {
  const entries: string[] = [];
  for (let i = from; i < from + count; i++) {
    const payload = sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` });
    if (kind === 'queue') {
      await client.lpush('queue:old', payload);
      entries.push(jobEntry('queue:old', payload));
    } else {
      const score = `${1895459303 + i}.5`;
      await client.zadd('schedule', score, payload);
      entries.push(jobEntry('schedule', payload, score));
    }
  }
  if (kind === 'queue') await client.sadd('queues', 'old');
  return entries.sort();
}

/** Every job in every list and sorted set of `client`, in our in-flight keys too (there, under the in-flight key's name), as jobEntry prints them, sorted. */
export async function everyJob(client: Redis): Promise<string[]> {
  const inflight: string[] = [];
  for (const key of await client.keys('sidekiq-migrate:*:inflight:*')) {
    const type = await client.type(key);
    if (type === 'list') for (const payload of await client.lrangeBuffer(key, 0, -1)) inflight.push(jobEntry(key, payload));
    if (type === 'zset') {
      const flat = await client.zrangeBuffer(key, 0, '-1', 'WITHSCORES');
      for (let i = 0; i < flat.length; i += 2) inflight.push(jobEntry(key, flat[i]!, flat[i + 1]!.toString()));
    }
  }
  return [...(await jobsIn(client)), ...inflight].sort();
}

/** Every key of run `runId` on `client` that has no expiry (TTL -1), sorted. */
export async function keysWithoutExpiry(client: Redis, runId: string): Promise<string[]> {
  const keys = await client.keys(`sidekiq-migrate:${runId}:*`);
  const ttls = await Promise.all(keys.map((key) => client.ttl(key)));
  return keys.filter((_, i) => ttls[i] === -1).sort();
}

/** A latch: `wait()` resolves once `open()` was called. */
export function latch(): { open: () => void; wait: () => Promise<void>; opened: () => boolean } {
  let open!: () => void;
  let opened = false;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { open: () => ((opened = true), open()), wait: () => promise, opened: () => opened };
}
