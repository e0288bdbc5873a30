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
  const watcher = () => void lost++;
  const sets = clients.map(watchersOf);
  for (const set of sets) set.add(watcher);
  return { lost: () => lost, stop: () => sets.forEach((set) => set.delete(watcher)) };
}

/** The watchers of a client: one 'close' listener each client, however many tasks share it (no MaxListeners warning). */
const watchers = new WeakMap<Redis, Set<() => void>>();

function watchersOf(client: Redis): Set<() => void> {
  let set = watchers.get(client);
  if (!set) {
    const created = new Set<() => void>();
    // Emitted as ioredis sets the status to "close", before it sorts the unanswered calls to send again.
    client.on('close', () => {
      if (((client as unknown as { commandQueue?: { length: number } }).commandQueue?.length ?? 0) > 0) for (const watcher of created) watcher();
    });
    watchers.set(client, created);
    set = created;
  }
  return set;
}
