import type { Redis } from 'ioredis';
import type { ConnectionUse } from '../redis/command-permissions.js';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';

/** A Redis a run works on, with its key prefix and a name fit for messages (URL redacted). */
export interface Connection {
  readonly redis: Redis;
  readonly keys: SidekiqKeys;
  readonly name: string;
  /**
   * The use its user's permissions were checked for on connecting (connect-redis.ts: the CLI's
   * connections); absent when they were not (a Lambda's: its connections have no use), and the
   * plan checks them before anything is touched.
   */
  readonly checkedFor?: ConnectionUse;
}

/**
 * Resolves the connection names of a run ("source", "target") to open connections. The Lambdas
 * resolve them from their environment and Secrets Manager, once per container; the local runner
 * and the CLI from the URLs given on the command line.
 */
export interface ConnectionProvider {
  get(name: string): Promise<Connection>;
}

/**
 * One task's use of a provider's connections (the local runner's, whose tasks share them).
 * `end(drop)` when the task ended: with `drop`, the connections it got are left behind, as a Lambda
 * container leaves its own after a task failed on a connection or timed out: the next `get` opens
 * new ones, and each left is ended once no running task got it.
 */
export interface ConnectionLease extends ConnectionProvider {
  end(drop: boolean): void;
}

/** A provider whose tasks take leases (UrlConnections; the local runner's OutageWatch passes them on). */
export interface LeasingConnectionProvider extends ConnectionProvider {
  lease(): ConnectionLease;
}
