import type { Redis } from 'ioredis';

/**
 * Counts the connections of `clients` that closed with calls sent and not yet answered, while
 * watched. ioredis connects again and sends those calls again (autoResendUnfulfilledCommands, its
 * default, kept by connect-redis.ts): a call that had run the first time runs twice, and the second
 * run counts the first one's moves as already done ("already", "duplicate"), with no error seen.
 * The count tells a page task that its counters may be short (page-step.ts). A connection shared
 * by several tasks at once (the local runner's) is counted by each of them: "may".
 */
export function watchLostReplies(clients: readonly Redis[]): { readonly lost: () => number; readonly stop: () => void } {
  let lost = 0;
  // Emitted as ioredis sets the status to "close", before it sorts the unanswered calls to send again.
  const onClose = (client: Redis) => () => {
    if (((client as unknown as { commandQueue?: { length: number } }).commandQueue?.length ?? 0) > 0) lost++;
  };
  const handlers = clients.map((client) => [client, onClose(client)] as const);
  for (const [client, handler] of handlers) client.on('close', handler);
  return { lost: () => lost, stop: () => handlers.forEach(([client, handler]) => client.off('close', handler)) };
}
