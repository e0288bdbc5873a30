import { connectRedis, type ConnectOptions } from '../redis/connect-redis.js';
import { parseRedisUrl } from '../redis/redis-url.js';
import { SidekiqKeys } from '../redis/sidekiq-keys.js';
import { InputError } from '../errors/input-error.js';
import type { Connection, ConnectionProvider } from './connections.js';

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
export class UrlConnections implements ConnectionProvider {
  private readonly open = new Map<string, Promise<Connection>>();

  constructor(private readonly specs: Readonly<Record<string, UrlConnectionSpec>>) {}

  async get(name: string): Promise<Connection> {
    const spec = this.specs[name];
    if (!spec) throw new InputError(`No connection named "${name}" (known: ${Object.keys(this.specs).join(', ') || 'none'})`);
    let connection = this.open.get(name);
    // A connection that gave up reconnecting (a long outage) is replaced on next use.
    if (connection && (await connection).redis.status === 'end') {
      this.open.delete(name);
      connection = undefined;
    }
    if (!connection) {
      const url = parseRedisUrl(spec.url, name);
      const keys = new SidekiqKeys(spec.prefix ?? '');
      connection = connectRedis(url, { role: name, prefix: keys.prefix, ...spec.connect }).then((redis) => ({ redis, keys, name: url.redacted, ...(spec.connect?.use ? { checkedFor: spec.connect.use } : {}) }));
      connection.catch(() => this.open.delete(name));
      this.open.set(name, connection);
    }
    return await connection;
  }

  async close(): Promise<void> {
    const all = await Promise.allSettled(this.open.values());
    for (const c of all) if (c.status === 'fulfilled') c.value.redis.disconnect();
    this.open.clear();
  }
}
