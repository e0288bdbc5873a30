import { FatalError, RetryableError, SidekiqMigrateError } from '../errors/sidekiq-migrate-error.js';
import { commandRefusal } from './command-refused-error.js';
import { keyTypeRefusal } from './key-type-error.js';
import { CROSS_SLOT, SHARDED_MEANING } from './sharded-endpoint.js';

/** Redis answered or failed in a way worth retrying (connection lost, failover, busy script…). */
export class RedisUnavailableError extends RetryableError {}

/** Redis refused in a way that will not change by retrying (wrong key type, auth, permissions…). */
export class RedisCommandError extends FatalError {}

// Reply prefixes of errors that a later attempt may not get: a failover in progress, a replica
// that was just promoted, a server still loading its data, a script running too long. Each says
// what it means in words an operator acts on; the reply follows in parentheses, as Redis gave it.
const TRANSIENT_REPLIES: Readonly<Record<string, string>> = {
  READONLY: 'the server is a read-only replica (a failover in progress, or a URL that names a replica)',
  LOADING: 'the server is still loading its data into memory',
  BUSY: 'a script or function on the server has run past its time limit',
  // Our own scripts reply TRYAGAIN too, with their own words (copyJobsToLists-n4.lua): no gloss.
  TRYAGAIN: '',
  MASTERDOWN: 'this replica has lost its link to its primary',
  CLUSTERDOWN: 'the cluster is down',
  NOREPLICAS: 'the server refuses writes while fewer replicas than its min-replicas-to-write are connected and in sync',
  // A script the server forgot between our SCRIPT LOAD and the call sent again (LuaScript.runAll):
  // it restarted or failed over just then. The call did not run; a retry loads the script again.
  NOSCRIPT: 'the server lost its scripts while the call was sent (it restarted, failed over, or SCRIPT FLUSH ran)',
};
export const TRANSIENT_REPLY = new RegExp(`^(${Object.keys(TRANSIENT_REPLIES).join('|')})\\b`);
const AUTH_REFUSED = /^(NOAUTH|WRONGPASS)\b|^ERR Protocol error: unauthenticated (multi)?bulk length/;
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

/**
 * How Redis before 7.0 reports an error a command raised inside a script (redis.call): wrapped,
 * `ERR Error running script (call to f_<sha>): @user_script:12: @user_script: 12: -READONLY You
 * can't write…` (7.0 keeps the command's own code first). Errors our scripts return
 * (redis.error_reply) are never wrapped.
 */
const SCRIPT_WRAPPER = /^ERR Error running script \(call to f_[0-9a-f]+\): (?:@user_script: ?\d+: )*-?/;

/** The error a command raised inside a script, as Redis 7 reports it: without 6.x's wrapper. */
export function unwrapScriptError(message: string): string {
  const wrapper = SCRIPT_WRAPPER.exec(message);
  return wrapper ? message.slice(wrapper[0].length).trimEnd() : message;
}

/**
 * Turns whatever ioredis threw into our typed errors, keeping the original as `cause`, so that
 * callers (the Lambdas, the CLI) decide retry vs fail on one flag. `doing` says what we were doing.
 */
export function classifyRedisError(error: unknown, doing: string): SidekiqMigrateError {
  if (error instanceof SidekiqMigrateError) return error;
  const e = error as { message?: string; code?: string; name?: string; previousErrors?: unknown[] };
  // Redis 6.x wraps a command's error inside a script: READONLY after a failover read as fatal.
  const message = unwrapScriptError(e?.message ?? String(error));
  // A MULTI whose commands Redis refused as they were queued (OOM, say) fails as EXECABORT, having
  // run none of them; ioredis keeps the refusals in `previousErrors`: the first one says why.
  if (message.startsWith('EXECABORT') && e.previousErrors?.[0] !== undefined) {
    const first = classifyRedisError(e.previousErrors[0], doing);
    return new (first.retryable ? RedisUnavailableError : RedisCommandError)(first.message, { cause: error });
  }
  const transient = TRANSIENT_REPLY.exec(message)?.[1];
  if (transient) {
    const meaning = TRANSIENT_REPLIES[transient];
    return new RedisUnavailableError(`${doing}: ${meaning ? `${meaning} (${message})` : message}`, { cause: error });
  }
  // Over maxmemory with a policy that frees nothing (noeviction, or volatile-* with nothing to
  // evict): retrying in seconds meets the same full server. Redis refuses a script only before
  // its first write, so the refused call changed nothing.
  if (message.startsWith('OOM')) {
    return new RedisCommandError(
      `${doing}: Redis is out of memory (maxmemory reached, nothing it may evict); the call wrote nothing. Free memory or raise maxmemory, then run the same command again.`,
      { cause: error },
    );
  }
  // The password (or ACL user) changed during the run: the reconnection's AUTH was refused, and
  // every command after it is (NOAUTH; Redis answers an unauthenticated call with many or long
  // arguments, a script's, with a protocol error instead). A retry meets the same server.
  if (AUTH_REFUSED.test(message)) {
    return new RedisCommandError(
      `${doing}: Redis no longer accepts our credentials (${message}): its password or ACL user changed during the run. Run the same command again with the current password.`,
      { cause: error },
    );
  }
  // A command taken from the run's user during the run, found by a script before it wrote
  // anything (guards.lua refusedCommand): the step named, the call changed nothing.
  if (message.startsWith('NOPERM sidekiq-migrate')) {
    const refusal = commandRefusal(message, doing, error);
    if (refusal) return refusal;
  }
  if (message.startsWith('WRONGTYPE')) {
    const refusal = keyTypeRefusal(message, doing, error);
    if (refusal) return refusal;
    return new RedisCommandError(`${doing}: the key holds another type of value than Sidekiq uses there (WRONGTYPE); check the key prefix`, { cause: error });
  }
  // A sharded server behind a proxy that hides it (connecting checks for it, sharded-endpoint.ts):
  // a call on keys in different slots is refused whole, so it ran nothing; a retry meets the same.
  if (CROSS_SLOT.test(message)) {
    return new RedisCommandError(`${doing}: the server refused a call on keys in different hash slots (${message}): ${SHARDED_MEANING} The refused call ran nothing.`, { cause: error });
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

/**
 * Whether a call that failed with `error` may have run all the same, its reply lost: the
 * connection closed or timed out after it was sent (a failover, a dropped connection, a command
 * timeout). Not when Redis answered (a reply error, READONLY or a script's refusal included: the
 * call ran nothing, or failed as a whole), nor for our own errors that do not come from a
 * connection (a lock found lost after the page's reply).
 */
export function replyMayBeLost(error: unknown): boolean {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { name?: unknown }).name === 'ReplyError') return false;
  }
  return classifyRedisError(error, '') instanceof RedisUnavailableError;
}

const movedUncountedErrors = new WeakSet<object>();

/**
 * `error`, marked as a failure beside which other Lua calls of the same page moved jobs that no
 * counter holds (a refused call among a slice's calls: LuaScript.runAll otherCallsThatRan), so that
 * the page task says its counts may be short (page-step.ts), as for a reply lost.
 */
export function markMovedUncounted<E extends object>(error: E): E {
  movedUncountedErrors.add(error);
  return error;
}

/** Whether `error` (or one of its causes) was marked by markMovedUncounted. */
export function movedUncounted(error: unknown): boolean {
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    if (movedUncountedErrors.has(e)) return true;
  }
  return false;
}

/**
 * `error` (a failed Lua call) when `calls` other calls of the same slice or page ran beside it and
 * moved jobs (`to`: how many to each destination, as shown): classified, its message beginning
 * with what they moved (first after what was being done: the failure's own words follow, and a
 * long line is cut short where it is shown), and marked by markMovedUncounted. Unchanged when
 * they moved none.
 */
export function withUncountedMoves(error: unknown, doing: string, calls: number, of: 'slice' | 'page', to: ReadonlyMap<string, number>): unknown {
  const moved = [...to.values()].reduce((a, b) => a + b, 0);
  if (moved === 0) return error;
  const classified = classifyRedisError(error, doing);
  const others = calls === 1 ? `another call of the same ${of}` : `${calls} other calls of the same ${of}`;
  const rest = classified.message.startsWith(`${doing}: `) ? classified.message.slice(doing.length + 2) : classified.message;
  classified.message = `${doing}: ${others} ran beside the failed one and moved ${moved} job(s) (${[...to].map(([name, n]) => `${name} ${n}`).join(' · ')}), which these counts do not include. The failed call: ${rest}`;
  return markMovedUncounted(classified);
}
