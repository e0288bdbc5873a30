/**
 * Sidekiq's key names under an optional namespace prefix (redis-namespace, Sidekiq ≤ 6: e.g.
 * `resque:gitlab:`). The prefix applies to key names only; values (queue names in `queues`,
 * payloads) never carry it.
 */
export class SidekiqKeys {
  constructor(readonly prefix: string = '') {}

  /** The list of jobs waiting on queue NAME. Queue names may contain ':'. */
  queue(name: string): string {
    return `${this.prefix}queue:${name}`;
  }

  /** The set of known queue names, which Sidekiq's API and Web UI list. */
  get queues(): string {
    return `${this.prefix}queues`;
  }

  sortedSet(name: SortedSetName): string {
    return `${this.prefix}${name}`;
  }

  get processes(): string {
    return `${this.prefix}processes`;
  }

  /**
   * Where jobs we cannot route go with `--unmapped quarantine`. Deliberately outside `queue:*`, so
   * neither Sidekiq nor our key discovery ever takes it for a queue.
   */
  quarantine(queue: string): string {
    return `${this.prefix}sidekiq-migrate:quarantine:${queue}`;
  }

  /** The queue name of a `queue:NAME` key (split on the first ':' after the prefix), or null. */
  queueNameOf(key: string): string | null {
    const head = `${this.prefix}queue:`;
    return key.startsWith(head) && key.length > head.length ? key.slice(head.length) : null;
  }
}

export const SORTED_SET_NAMES = ['schedule', 'retry', 'dead'] as const;
export type SortedSetName = (typeof SORTED_SET_NAMES)[number];
