import type { Redis } from 'ioredis';

/** The parts of ioredis 6's client this reaches into (not in its typings). */
interface ClientInternals {
  flushQueue?: (error: Error, options?: { offlineQueue?: boolean; commandQueue?: boolean }) => void;
  prevCommandQueue?: { shift(): { command: { reject(error: Error): void } } | undefined } | null;
}

/**
 * Makes ioredis settle the commands that were in flight when a ready connection dropped at the
 * same moment, and with the same error, as every other command it holds: after a few failed
 * reconnections (maxRetriesPerRequest) or when it gives up reconnecting (retryStrategy's null).
 *
 * Why: ioredis puts those commands aside, to send them again once a reconnection is ready, and
 * only 'ready' ever takes them back; its flush reaches them only while the dropped connection's
 * queue is still current, and the first reconnection that connects at all (TCP accepted) starts a
 * new one. A Redis behind a load balancer that accepts each connection and then resets it (an NLB
 * or a proxy in front of a dead Redis) never gets ready: the command in flight waited out its whole
 * command timeout (30 s) while the client had long given up, and only then could the step fail
 * and its retry say the server cannot be reached. A reconnection that does get ready in time (a
 * failover) still sends them again, as before. (Proposed to ioredis as PR 2197; not in 6.0.0.)
 */
export function settleStrandedCommands(client: Redis): void {
  const internals = client as unknown as ClientInternals;
  const flush = internals.flushQueue;
  // Another ioredis without this method: test/redis/unreachable-in-flight.test.ts says whether it still needs this.
  if (typeof flush !== 'function') return;
  internals.flushQueue = function flushQueue(error, options) {
    flush.call(client, error, options);
    if (options?.commandQueue === false) return;
    const stranded = internals.prevCommandQueue;
    if (!stranded) return;
    internals.prevCommandQueue = null;
    for (let item = stranded.shift(); item !== undefined; item = stranded.shift()) item.command.reject(error);
  };
}
