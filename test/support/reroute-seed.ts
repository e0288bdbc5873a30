import type { Redis } from 'ioredis';
import { jobEntry, withQueue } from './exact-jobs.js';
import { sidekiqPayload } from './sidekiq-jobs.js';

/**
 * 40 jobs of class A queued on `old`, 30 scheduled and 20 retrying entries naming `old` (scores
 * 2e9 + n), `args(i)` their args (i from 0, 100 and 200); `old` named in `queues` when
 * `namedInQueues`. Returns them as seeded, and as a re-route of A to `new` leaves them (only the
 * queue value changed, `queue:old`'s jobs on `queue:new`), as `jobEntry` prints them, unsorted.
 */
export async function seedOldForReroute(client: Redis, args: (i: number) => string, { namedInQueues }: { readonly namedInQueues: boolean }): Promise<{ seeded: string[]; rerouted: string[] }> {
  const seeded: string[] = [];
  const rerouted: string[] = [];
  const job = (i: number) => sidekiqPayload({ className: 'A', queue: 'old', args: args(i) });
  for (let i = 0; i < 40; i++) {
    const payload = job(i);
    await client.lpush('queue:old', payload);
    seeded.push(jobEntry('queue:old', payload));
    rerouted.push(jobEntry('queue:new', withQueue(payload, 'old', 'new')));
  }
  if (namedInQueues) await client.sadd('queues', 'old');
  for (const [set, n, from] of [['schedule', 30, 100], ['retry', 20, 200]] as const) {
    for (let i = 0; i < n; i++) {
      const payload = job(from + i);
      await client.zadd(set, String(2e9 + i), payload);
      seeded.push(jobEntry(set, payload, String(2e9 + i)));
      rerouted.push(jobEntry(set, withQueue(payload, 'old', 'new'), String(2e9 + i)));
    }
  }
  return { seeded, rerouted };
}
