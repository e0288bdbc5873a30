import type { Redis } from 'ioredis';
import type { GitLabLog } from './gitlab-log.js';

const LOG_FREQUENCY = 1000;

export interface SetMigration {
  scanned: number;
  migrated: number;
  roundTrips: number;
}

/**
 * (b) GitLab's sorted-set migration (`gitlab:sidekiq:migrate_jobs:schedule|retry`,
 * gitlab-reference §3.1), step for step: ZCARD, then ZSCAN with no COUNT (Redis's default of 10),
 * a literal "contains any mapped class name" prefilter, JSON.parse, skip unmapped classes and jobs
 * already on their queue, set `queue`, re-serialise, ZREM the original and, if it was removed,
 * ZADD the rewrite with the original score. Every command is awaited before the next, as the Ruby
 * client does: no pipelining.
 */
export async function gitlabMigrateSet(redis: Redis, set: string, mapping: ReadonlyMap<string, string>, log: GitLabLog, onJob: () => void): Promise<SetMigration> {
  const prefilter = literalUnion([...mapping.keys()]);
  const result = { scanned: 0, migrated: 0, roundTrips: 0 };
  const estimated = await redis.zcard(set);
  result.roundTrips++;
  log(`Processing ${set} set. Estimated size: ${estimated}.`);
  let cursor = '0';
  do {
    const [next, flat] = await redis.zscan(set, cursor);
    result.roundTrips++;
    for (let i = 0; i < flat.length; i += 2) {
      const member = flat[i]!;
      const score = flat[i + 1]!;
      if (result.scanned > 0 && result.scanned % LOG_FREQUENCY === 0) log(`In progress. Scanned records: ${result.scanned}. Migrated records: ${result.migrated}.`);
      result.scanned++;
      onJob();
      if (!prefilter.test(member)) continue;
      const job = JSON.parse(member) as Record<string, unknown>;
      const destination = mapping.get(job['class'] as string);
      if (destination === undefined) continue;
      if (job['queue'] === destination) continue;
      job['queue'] = destination;
      const rewritten = JSON.stringify(job);
      const removed = await redis.zrem(set, member);
      result.roundTrips++;
      if (removed > 0) {
        await redis.zadd(set, score, rewritten);
        result.roundTrips++;
        result.migrated++;
      }
    }
    cursor = next;
  } while (cursor !== '0');
  log(`Done. Scanned records: ${result.scanned}. Migrated records: ${result.migrated}.`);
  return result;
}

/** Ruby's `Regexp.union` of strings: matches any of them literally, anywhere in the text. */
function literalUnion(words: string[]): RegExp {
  return new RegExp(words.map((w) => w.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')).join('|'));
}
