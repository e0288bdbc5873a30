import { FatalError } from '../../core/errors/sidekiq-migrate-error.js';
import { RedisUnavailableError } from '../../core/redis/redis-errors.js';
import type { Connection, ConnectionLease, ConnectionProvider } from '../../core/workflow/connections.js';
import { failoverWindowMs } from './retry-notice.js';

/**
 * A server of a local run that has stayed unreachable longer than one step's retries wait in all
 * (about 2 min: what rides out a failover). Not retryable, so that the steps after it do not wait
 * out the same retries again, each in turn (a batch of items four at a time, then the add-up,
 * then the lock's release: 6 to 10 minutes of silence before the run ended).
 */
export class ServerUnreachableError extends FatalError {}

/** "2 min 3 s", "45 s". */
export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
}

/**
 * The connections of a local run's tasks, which remember since when each server has refused
 * connections. Each step still retries as the state machine says while the outage is younger than
 * `windowMs` (a failover is over well within it); once it is older, a task that cannot connect
 * fails at once, naming the server and what to do, instead of retrying. Nothing is lost either
 * way: each page is atomic, a transfer's claimed jobs stay in flight for the next run.
 */
export class OutageWatch implements ConnectionProvider {
  private readonly since = new Map<string, number>();

  constructor(
    private readonly inner: ConnectionProvider,
    private readonly windowMs: number = failoverWindowMs(),
    private readonly clock: () => number = Date.now,
  ) {}

  get(name: string): Promise<Connection> {
    return this.watch(name, this.inner);
  }

  /** A task's lease of the inner provider's connections (UrlConnections.lease), watched the same. */
  lease(): ConnectionLease {
    const inner = 'lease' in this.inner && typeof this.inner.lease === 'function' ? (this.inner.lease as () => ConnectionLease)() : { get: (name: string) => this.inner.get(name), end: () => {} };
    return { get: (name) => this.watch(name, inner), end: (drop) => inner.end(drop) };
  }

  private async watch(name: string, from: ConnectionProvider): Promise<Connection> {
    try {
      const connection = await from.get(name);
      this.since.delete(name);
      return connection;
    } catch (error) {
      if (!(error instanceof RedisUnavailableError)) throw error;
      const now = this.clock();
      const since = this.since.get(name) ?? now;
      this.since.set(name, since);
      if (now - since < this.windowMs) throw error;
      throw new ServerUnreachableError(
        `${error.message}\nThe ${name} has been unreachable for ${duration(now - since)}, longer than a failover takes (the retries wait ${duration(this.windowMs)}): the run stopped retrying. ` +
          `Nothing is lost: each page is whole (jobs a move claimed stay in flight on its source for the next run). Check that the ${name} is up and reachable from here (host, port, firewall or security group, TLS), then run the same command again: it finishes the run.`,
        { cause: error },
      );
    }
  }
}
