import type { Redis } from 'ioredis';
import { InputError } from '../errors/input-error.js';
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
