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
