import type { Redis } from 'ioredis';

/**
 * Counts the connections of `clients` that closed with calls sent and not yet answered, while
 * watched. ioredis connects again and sends those calls again (autoResendUnfulfilledCommands, its
 * default, kept by connect-redis.ts): a call that had run the first time runs twice, and the second
 * run counts the first one's moves as already done ("already", "duplicate"), with no error seen.
 * The count tells a page task that its counters may be short (page-step.ts). A connection shared
 * by several tasks at once (the local runner's) is counted by each of them: "may". `stop()` when
 * the task is done: the client keeps no listener of a task that ended.
 */
export function watchLostReplies(clients: readonly Redis[]): { readonly lost: () => number; readonly stop: () => void } {
  let lost = 0;
  const watcher = () => void lost++;
  const watched = [...new Set(clients)];
  for (const client of watched) watch(client, watcher);
  let stopped = false;
  return {
    lost: () => lost,
    stop: () => {
      if (stopped) return;
      stopped = true;
      for (const client of watched) unwatch(client, watcher);
    },
  };
}

/**
 * The watchers of each client being watched, behind a single 'close' listener however many tasks
 * share it at once (the local runner's Map runs its maxConcurrency tasks on one client: a listener
 * each printed MaxListenersExceededWarning past ten). The listener is added with the first watcher
 * and removed with the last, so that a client kept across tasks (the CLI's, a warm Lambda's)
 * keeps none between them, and one wrapped anew for each task (a test's fault proxy, which
 * forwards `on` to the client it wraps) does not gather one per task.
 */
const watching = new WeakMap<Redis, { readonly watchers: Set<() => void>; readonly onClose: () => void }>();

function watch(client: Redis, watcher: () => void): void {
  let entry = watching.get(client);
  if (!entry) {
    const watchers = new Set<() => void>();
    // Emitted as ioredis sets the status to "close", before it sorts the unanswered calls to send again.
    const onClose = () => {
      if (((client as unknown as { commandQueue?: { length: number } }).commandQueue?.length ?? 0) > 0) for (const w of watchers) w();
    };
    entry = { watchers, onClose };
    watching.set(client, entry);
    client.on('close', onClose);
  }
  entry.watchers.add(watcher);
}

function unwatch(client: Redis, watcher: () => void): void {
  const entry = watching.get(client);
  if (!entry) return;
  entry.watchers.delete(watcher);
  if (entry.watchers.size > 0) return;
  client.off('close', entry.onClose);
  watching.delete(client);
}
