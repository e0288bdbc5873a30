import type { Redis } from 'ioredis';
import { InputError } from '../errors/input-error.js';
import { classifyRedisError } from './redis-errors.js';
import type { Connection } from '../workflow/connections.js';

/**
 * A server's identity: INFO's `run_id` (random per server process) and the selected database.
 * Two URLs that differ in spelling (a host name and its IP, a DNS alias, a tunnel) may lead to the
 * same server; their identities are equal then.
 */
export async function serverIdentity(redis: Redis): Promise<string> {
  const info = await redis.info('server');
  const runId = /^run_id:(.*)$/m.exec(info)?.[1]?.trim() ?? '';
  return `${runId}/${redis.options.db ?? 0}`;
}

/**
 * A transfer whose source and target are the same keys (one server, one database, one prefix)
 * would claim each job and push it back where it was, forever reporting success: refused.
 */
export async function assertDistinctEnds(source: Connection, target: Connection): Promise<void> {
  if (source.keys.prefix !== target.keys.prefix) return;
  const [from, to] = await Promise.all([serverIdentity(source.redis), serverIdentity(target.redis)]);
  if (from !== to || from.startsWith('/')) return;
  const prefix = source.keys.prefix === '' ? 'no prefix' : `the prefix "${source.keys.prefix}"`;
  throw new InputError(
    `source ${source.name} and target ${target.name} are the same Redis (server run_id ${from.split('/')[0]}, database ${from.split('/')[1]}, ${prefix}): a transfer needs two different places. To re-route inside one Redis, use run. Nothing was touched.`,
  );
}

/**
 * Whether a transfer's target is in the source's keyspace (one server, one database): a namespace
 * move on one Redis, whose target prefix is the run's own, not "another prefix" of the source.
 * The target's id (target-identity.ts, random per target) read on both sides says so without
 * INFO; before any run wrote it (a dry run), the servers' identities do. Unknown (a read refused
 * by the user's ACL, no id yet) is taken as no: the target prefix's jobs are then named, never hidden.
 */
export async function sharesKeyspace(source: Connection, target: Connection, targetIdKey: string): Promise<boolean> {
  try {
    const [here, there] = await Promise.all([source.redis.get(targetIdKey), target.redis.get(targetIdKey)]);
    if (there !== null) return here === there;
    const [from, to] = await Promise.all([serverIdentity(source.redis), serverIdentity(target.redis)]);
    return from === to && !from.startsWith('/');
  } catch (error) {
    // A refusal (an ACL without INFO, a renamed command, the id key of another type) is no answer;
    // a lost connection is a failure of the step, retried as any other.
    if (error instanceof Error && /^(NOPERM|ERR|WRONGTYPE)\b/.test(error.message)) return false;
    throw classifyRedisError(error, `Telling whether target ${target.name} is the source's Redis`);
  }
}
