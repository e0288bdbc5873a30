import type { Redis } from 'ioredis';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';

/** A Redis a run works on, with its key prefix and a name fit for messages (URL redacted). */
export interface Connection {
  readonly redis: Redis;
  readonly keys: SidekiqKeys;
  readonly name: string;
}

/**
 * Resolves the connection names of a run ("source", "target") to open connections. The Lambdas
 * resolve them from their environment and Secrets Manager, once per container; the local runner
 * and the CLI from the URLs given on the command line.
 */
export interface ConnectionProvider {
  get(name: string): Promise<Connection>;
}
