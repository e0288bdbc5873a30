import type { Redis } from 'ioredis';
import type { GitLabLog } from './gitlab-log.js';

const LOG_FREQUENCY_QUEUES = 10;

export interface QueueMigration {
  migrated: number;
  roundTrips: number;
}

/**
 * (b) GitLab's list migration (`gitlab:sidekiq:migrate_jobs:queued`, gitlab-reference §3.2), step
 * for step: SCAN MATCH queue:* (default COUNT), TYPE of each key, skip routing destinations, then
 * per drained queue: while LLEN > 0 { every 10 migrated, LLEN again for the log line; RPOP;
 * JSON.parse; LPUSH the rewrite onto queue:<destination> }. Sequential awaits, no pipelining.
 * (Like GitLab, a job whose class is unmapped or whose JSON is invalid is dropped; the workload
 * holds none, so both algorithms end with the same jobs.)
 */
export async function gitlabMigrateQueues(redis: Redis, mapping: ReadonlyMap<string, string>, log: GitLabLog, onJob: () => void): Promise<QueueMigration> {
  const destinations = [...new Set(mapping.values())];
  const isDestination = new Set(destinations);
  const result = { migrated: 0, roundTrips: 0 };
  log(`List of queues based on routing rules: [${destinations.map((d) => JSON.stringify(d)).join(', ')}]`);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', 'queue:*');
    result.roundTrips++;
    for (const key of keys) {
      const type = await redis.type(key);
      result.roundTrips++;
      if (type !== 'list') continue;
      const queue = key.slice(key.indexOf(':') + 1);
      if (isDestination.has(queue)) continue;
      log(`Migrating ${queue} queue`);
      let migrated = 0;
      for (;;) {
        const length = await redis.llen(`queue:${queue}`);
        result.roundTrips++;
        if (length <= 0) break;
        if (migrated % LOG_FREQUENCY_QUEUES === 0) {
          log(`Migrating from ${queue}. Total: ${await redis.llen(`queue:${queue}`)}. Migrated: ${migrated}.`);
          result.roundTrips++;
        }
        const payload = await redis.rpop(`queue:${queue}`);
        result.roundTrips++;
        onJob();
        let job: Record<string, unknown>;
        try {
          job = JSON.parse(payload!) as Record<string, unknown>;
        } catch {
          log(`Unmarshal JSON payload from SidekiqMigrateJobs failed. Job: ${payload}`);
          continue;
        }
        const destination = mapping.get(job['class'] as string);
        if (destination === undefined) continue;
        job['queue'] = destination;
        await redis.lpush(`queue:${destination}`, JSON.stringify(job));
        result.roundTrips++;
        migrated++;
        result.migrated++;
      }
      log(`Finished migrating ${queue} queue`);
    }
    cursor = next;
  } while (cursor !== '0');
  return result;
}
