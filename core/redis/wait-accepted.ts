import type { Redis } from 'ioredis';
import { InputError } from '../errors/input-error.js';
import { classifyRedisError, TRANSIENT_REPLY } from './redis-errors.js';

/**
 * Refuses a run asked to wait for replicas (`--from-replicas`/`--to-replicas`) on a server that
 * refuses WAIT itself (a proxy answering "unknown command" or "not allowed"): every slice would
 * claim, then fail at its WAIT, over and over. `WAIT 0 0` (no replica asked for: answered at once,
 * writing nothing) is sent by the plan before anything is claimed, so the run stops untouched,
 * naming the option to drop. A dropped connection or a busy server is no answer: retryable.
 */
export async function assertWaitAccepted(redis: Redis, where: string, option: string, replicas: number): Promise<void> {
  try {
    await redis.call('WAIT', '0', '0');
  } catch (error) {
    const e = error as { name?: unknown; message?: unknown };
    const message = String(e.message ?? error);
    if (e.name !== 'ReplyError' || TRANSIENT_REPLY.test(message)) throw classifyRedisError(error, `Checking that the ${where} answers WAIT`);
    throw new InputError(
      `${option} ${replicas}: the ${where} refuses WAIT (${message}), so no write of the move can be waited for on its replicas there. ` +
        `Drop ${option} (the move then waits for the replicas its INFO reports, none behind such a proxy), or use an endpoint that answers WAIT. Nothing was touched.`,
      { cause: error },
    );
  }
}
