import { FatalError, RetryableError, SidekiqMigrateError } from '../errors/sidekiq-migrate-error.js';
import { keyTypeRefusal } from './key-type-error.js';

/** Redis answered or failed in a way worth retrying (connection lost, failover, busy script…). */
export class RedisUnavailableError extends RetryableError {}

/** Redis refused in a way that will not change by retrying (wrong key type, auth, permissions…). */
export class RedisCommandError extends FatalError {}

// Reply prefixes of errors that a later attempt may not get: a failover in progress, a replica
// that was just promoted, a server still loading its data, a script running too long.
const TRANSIENT_REPLIES = /^(READONLY|LOADING|BUSY|TRYAGAIN|MASTERDOWN|CLUSTERDOWN|NOREPLICAS)\b/;
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

/**
 * Turns whatever ioredis threw into our typed errors, keeping the original as `cause`, so that
 * callers (the Lambdas, the CLI) decide retry vs fail on one flag. `doing` says what we were doing.
 */
export function classifyRedisError(error: unknown, doing: string): SidekiqMigrateError {
  if (error instanceof SidekiqMigrateError) return error;
  const e = error as { message?: string; code?: string; name?: string };
  const message = e?.message ?? String(error);
  if (TRANSIENT_REPLIES.test(message)) return new RedisUnavailableError(`${doing}: ${message}`, { cause: error });
  // Over maxmemory with a policy that frees nothing (noeviction, or volatile-* with nothing to
  // evict): retrying in seconds meets the same full server. Redis refuses a script only before
  // its first write, so the refused call changed nothing.
  if (message.startsWith('OOM')) {
    return new RedisCommandError(
      `${doing}: Redis is out of memory (maxmemory reached, nothing it may evict); the call wrote nothing. Free memory or raise maxmemory, then run the same command again.`,
      { cause: error },
    );
  }
  if (message.startsWith('WRONGTYPE')) {
    const refusal = keyTypeRefusal(message, doing, error);
    if (refusal) return refusal;
    return new RedisCommandError(`${doing}: the key holds another type of value than Sidekiq uses there (WRONGTYPE); check the key prefix`, { cause: error });
  }
  // ioredis aborts the rest of a pipeline it had begun to send when the connection closes (a
  // failover, a CLIENT KILL, an idle timeout): whether the calls ran is unknown, and every step
  // is safe to run again (a move happens only if its job is still there; a transfer resumes).
  if (e?.name === 'AbortError' || /Command aborted due to connection close|Connection is discarded/i.test(message)) {
    return new RedisUnavailableError(`${doing}: the connection to Redis closed during the call (${message})`, { cause: error });
  }
  if ((e?.code && CONNECTION_CODES.has(e.code)) || /Connection is closed|Stream isn't writeable|MaxRetriesPerRequest|Command timed out|connect ETIMEDOUT/i.test(message)) {
    return new RedisUnavailableError(`${doing}: Redis is unreachable (${message})`, { cause: error });
  }
  return new RedisCommandError(`${doing}: ${message}`, { cause: error });
}
