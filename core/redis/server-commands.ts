import type { Redis } from 'ioredis';
import { InputError } from '../errors/input-error.js';

/**
 * The commands of Redis 6.2 a run sends (its Lua steps and pages: copy ledgers, set conflicts,
 * a dry run's count, a re-route's record of rewrites past 128 entries), which Redis 5.0 and 6.0
 * lack. Without the check, a deployed re-route on Redis 6.0 moved the first pages of a large
 * `retry` and failed half-way at its first SMISMEMBER. Keep in step with commandsFor's writes.
 */
export const COMMANDS_OF_REDIS_6_2 = ['SMISMEMBER', 'ZMSCORE', 'HRANDFIELD'] as const;

/**
 * Refuses, before anything is touched, a server that lacks a command a run sends (older than 6.2,
 * or the command renamed or disabled): `COMMAND INFO` answers nil for each it does not have. A
 * server that does not let us ask is let through (its refusal of a command says what it is).
 */
export async function assertRunCommandsExist(redis: Redis, where: string): Promise<void> {
  let infos: unknown[];
  try {
    infos = (await redis.call('COMMAND', 'INFO', ...COMMANDS_OF_REDIS_6_2.map((c) => c.toLowerCase()))) as unknown[];
  } catch {
    return;
  }
  const missing = COMMANDS_OF_REDIS_6_2.filter((_, i) => infos[i] === null || infos[i] === undefined);
  if (missing.length === 0) return;
  const version = await redis.info('server').then(
    (info) => /^redis_version:(.*)$/m.exec(info)?.[1]?.trim(),
    () => undefined,
  );
  const server = version === undefined ? 'this server does not say its version' : `this is Redis ${version}`;
  throw new InputError(`${where}: the server does not have ${missing.join(', ')}, which a run needs (Redis 6.2 or later; ${server}, or they are renamed or disabled). Nothing was touched.`);
}
