import type { RedisKey } from 'ioredis';
import { nameFromBytes, redisKey } from './key-name.js';

/**
 * Sidekiq's key names under an optional namespace prefix (redis-namespace, Sidekiq ≤ 6: e.g.
 * `resque:gitlab:`). The prefix applies to key names only; values (queue names in `queues`,
 * payloads) never carry it.
 *
 * redis-namespace joins namespace and key with a ':', and GitLab's configuration spells the
 * namespace without it (`resque:gitlab`): both spellings mean the same prefix here, so that
 * `--namespace resque:gitlab` never scans `resque:gitlabqueue:*` nor writes `resque:gitlabsidekiq-migrate:…`.
 *
 * Queue names are lossless strings (key-name.ts): a name that is not UTF-8 gives a Buffer key.
 */
export class SidekiqKeys {
  readonly prefix: string;

  constructor(prefix: string = '') {
    this.prefix = normalizePrefix(prefix);
  }

  /** The list of jobs waiting on queue NAME. Queue names may contain ':'. */
  queue(name: string): RedisKey {
    return redisKey(`${this.prefix}queue:${name}`);
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
  quarantine(queue: string): RedisKey {
    return redisKey(`${this.prefix}sidekiq-migrate:quarantine:${queue}`);
  }

  /**
   * The queue name (lossless: key-name.ts) of a `queue:NAME` key given as bytes (split on the
   * first ':' after the prefix), or null.
   */
  queueNameOf(key: Buffer | string): string | null {
    const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
    const head = Buffer.from(`${this.prefix}queue:`, 'utf8');
    if (bytes.length <= head.length || !bytes.subarray(0, head.length).equals(head)) return null;
    return nameFromBytes(bytes.subarray(head.length));
  }
}

/** `resque:gitlab` and `resque:gitlab:` are the same namespace; '' is none. */
export function normalizePrefix(prefix: string): string {
  return prefix === '' || prefix.endsWith(':') ? prefix : `${prefix}:`;
}

/**
 * Sorted sets of jobs: Sidekiq's `schedule`, `retry` and `dead`, and `interrupted`, where GitLab's
 * reliable fetcher (gitlab-sidekiq-fetcher) keeps jobs interrupted too often (their payload names
 * their old queue; kept three months, never retried by themselves, like `dead`). A run lists
 * `interrupted` only when the key exists (see work-list.ts).
 */
export const SORTED_SET_NAMES = ['schedule', 'retry', 'dead', 'interrupted'] as const;

/** Sets that never come due by themselves: only a person retries their jobs. */
export const NEVER_DUE_SETS: ReadonlySet<string> = new Set(['dead', 'interrupted']);
export type SortedSetName = (typeof SORTED_SET_NAMES)[number];
