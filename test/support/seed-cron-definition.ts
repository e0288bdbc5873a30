import type { Redis } from 'ioredis';
import { sidekiqPayload } from './sidekiq-jobs.js';

/**
 * A sidekiq-cron 2.x definition as it saves one: the hash `key` with `fields`, named in
 * `cron_jobs:<fields.namespace>`; and one job of another class on queue:`queue` (the queue the
 * definition pushes to, so that queue is known and not empty).
 */
export async function seedCronDefinition(client: Redis, key: string, fields: Record<string, string> & { namespace: string }, queue: string): Promise<void> {
  await client.sadd(`cron_jobs:${fields.namespace}`, key);
  await client.hset(key, fields);
  await client.lpush(`queue:${queue}`, sidekiqPayload({ className: 'OtherWorker', queue }));
}
