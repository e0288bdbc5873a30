import { connectRedis, type ConnectOptions } from '../redis/connect-redis.js';
import { parseRedisUrl } from '../redis/redis-url.js';
import { SidekiqKeys } from '../redis/sidekiq-keys.js';
import { InputError } from '../errors/input-error.js';
import type { Connection, ConnectionLease, LeasingConnectionProvider } from './connections.js';

export interface UrlConnectionSpec {
  readonly url: string;
  /** Sidekiq key prefix (redis-namespace), e.g. "resque:gitlab:". */
  readonly prefix?: string;
  readonly connect?: ConnectOptions;
}

/**
 * Connections named by URL, opened (and checked) on first use and kept: what the CLI and the local
 * runner give the workflow steps. `close()` ends them all.
 */
export class UrlConnections implements LeasingConnectionProvider {
  private readonly open = new Map<string, Promise<Connection>>();
  /** The connection each name's entry in `open` resolved to. */
  private readonly current = new Map<string, Connection>();
  /** How many running tasks got each connection (`lease`). */
  private readonly users = new Map<Connection, number>();
  /** Connections left behind (`end(true)`), ended once no running task got them. */
  private readonly left = new Set<Connection>();

  constructor(private readonly specs: Readonly<Record<string, UrlConnectionSpec>>) {}

  async get(name: string): Promise<Connection> {
    const spec = this.specs[name];
    if (!spec) throw new InputError(`No connection named "${name}" (known: ${Object.keys(this.specs).join(', ') || 'none'})`);
    let connection = this.open.get(name);
    // A connection that gave up reconnecting (a long outage) is replaced on next use.
    if (connection && (await connection).redis.status === 'end') {
      this.open.delete(name);
      this.current.delete(name);
      connection = undefined;
    }
    if (!connection) {
      const url = parseRedisUrl(spec.url, name);
      const keys = new SidekiqKeys(spec.prefix ?? '');
      connection = connectRedis(url, { role: name, prefix: keys.prefix, ...spec.connect }).then((redis) => ({ redis, keys, name: url.redacted, ...(spec.connect?.use ? { checkedFor: spec.connect.use } : {}) }));
      const entry = connection;
      entry.then(
        (c) => void (this.open.get(name) === entry && this.current.set(name, c)),
        () => this.open.delete(name),
      );
      this.open.set(name, connection);
    }
    return await connection;
  }

  /**
   * A task's view of these connections (the local runner's tasks, which share them). A task that
   * failed on a connection or timed out leaves the connections it got behind (`end(true)`): the
   * next `get` connects again, as a Lambda container does after such a failure
   * (functions/support/create-handler.ts). A connection whose path went silent looks open to
   * ioredis, whose commands on it only time out: kept, it failed every retry the same way. A
   * connection left is ended once no running task got it (at once, if none did: a timed-out
   * task's command still waiting on it then fails, as on Lambda), never under another task's feet.
   */
  lease(): ConnectionLease {
    const got = new Set<Connection>();
    let ended = false;
    return {
      get: async (name) => {
        const c = await this.get(name);
        if (!ended && !got.has(c)) {
          got.add(c);
          this.users.set(c, (this.users.get(c) ?? 0) + 1);
        }
        return c;
      },
      end: (drop) => {
        if (ended) return;
        ended = true;
        for (const c of got) {
          if (drop) this.leave(c);
          const users = (this.users.get(c) ?? 1) - 1;
          if (users > 0) this.users.set(c, users);
          else this.users.delete(c);
          if (users <= 0 && this.left.delete(c)) c.redis.disconnect();
        }
      },
    };
  }

  /** The next `get` of its name opens a new connection; this one is ended once unused (`lease`). */
  private leave(connection: Connection): void {
    for (const [name, c] of this.current) {
      if (c !== connection) continue;
      this.current.delete(name);
      this.open.delete(name);
    }
    this.left.add(connection);
  }

  async close(): Promise<void> {
    const all = await Promise.allSettled(this.open.values());
    for (const c of all) if (c.status === 'fulfilled') c.value.redis.disconnect();
    for (const c of this.left) c.redis.disconnect();
    this.open.clear();
    this.current.clear();
    this.left.clear();
    this.users.clear();
  }
}
