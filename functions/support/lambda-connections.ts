import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { ConfigError } from '../../core/config/config-error.js';
import { withoutByteOrderMark } from '../../core/config/read-input-file.js';
import { InputError } from '../../core/errors/input-error.js';
import { connectRedis, type ConnectOptions } from '../../core/redis/connect-redis.js';
import { assertNotSharded } from '../../core/redis/sharded-endpoint.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import type { Connection, ConnectionProvider } from '../../core/workflow/connections.js';
import { envNameOf, envVariable, readConnectionEnv, type ConnectionSettings } from './connection-env.js';
import { fetchCredentials, type RedisCredentials } from './redis-credentials.js';

export interface LambdaConnectionsOptions {
  /** Extra connect options (a private CA for rediss://, a timeout); ElastiCache needs none. */
  readonly connect?: ConnectOptions;
  /** Where _TLS_CA_FILE paths start (default LAMBDA_TASK_ROOT, the function's code directory). */
  readonly codeDirectory?: string;
}

const AUTH_REJECTED = /WRONGPASS|NOAUTH|invalid password|invalid username-password|authentication failed/i;

/**
 * The connections of a Lambda container: configured from its environment once, at cold start,
 * and opened on first use, then kept for the following invocations. A connection that ended
 * (ioredis gave up reconnecting) is replaced on next use. Credentials come from Secrets Manager
 * and go straight to the client: never into the environment, a message or a log.
 *
 * A configuration problem does not crash the cold start (Step Functions would see an anonymous
 * init failure): every `get` rejects with the ConfigError listing all problems, so the task
 * fails as InvalidInputError with the full list.
 */
export class LambdaConnections implements ConnectionProvider {
  private readonly open = new Map<string, { readonly promise: Promise<Connection>; connection?: Connection }>();
  /** Connection attempts that failed, since the container started (for the metric). */
  failedConnects = 0;

  constructor(
    private readonly settings: Readonly<Record<string, ConnectionSettings>> | ConfigError,
    private readonly options: LambdaConnectionsOptions = {},
  ) {}

  /** The configuration problems found at cold start, if any (logged once by the container). */
  get problems(): readonly string[] {
    return this.settings instanceof ConfigError ? this.settings.problems : [];
  }

  /** The configured connections' names, as `get` takes them ("source", "target"); none when the configuration is invalid. */
  get names(): readonly string[] {
    return this.settings instanceof ConfigError ? [] : Object.keys(this.settings).map((n) => n.toLowerCase());
  }

  get(name: string): Promise<Connection> {
    if (this.settings instanceof ConfigError) return Promise.reject(this.settings);
    const key = envNameOf(name);
    const settings = this.settings[key];
    if (!settings) {
      const known = Object.keys(this.settings).map((n) => n.toLowerCase()).join(', ') || 'none';
      return Promise.reject(new InputError(`No connection named "${name}" is configured for this function (configured: ${known}); set ${envVariable(name, 'URL')}`));
    }
    const entry = this.open.get(key);
    if (entry && entry.connection?.redis.status !== 'end') return entry.promise;
    entry?.connection?.redis.disconnect();

    const fresh: { promise: Promise<Connection>; connection?: Connection } = { promise: this.connect(name, settings) };
    this.open.set(key, fresh);
    fresh.promise.then(
      (connection) => void (fresh.connection = connection),
      () => {
        this.failedConnects++;
        if (this.open.get(key) === fresh) this.open.delete(key);
      },
    );
    return fresh.promise;
  }

  private async connect(name: string, settings: ConnectionSettings): Promise<Connection> {
    const connect = { ...this.options.connect, ...(settings.tlsCaFile ? { tls: { ...this.options.connect?.tls, ca: this.readCa(name, settings.tlsCaFile) } } : {}) };
    const secretId = settings.secretArn ?? settings.secretName;
    // The secret's password apart from the URL, so that a notice names where it came from (the
    // environment holds none), never the password.
    const open = async (credentials: RedisCredentials | undefined) => {
      const url = credentials ? { ...settings.url, username: credentials.username ?? settings.url.username } : settings.url;
      return connectRedis(url, { role: name, ...connect, ...(credentials ? { password: credentials.password, passwordFrom: `the secret ${secretId}` } : {}) });
    };
    let redis: Redis;
    if (!secretId) {
      redis = await open(undefined);
    } else {
      const credentials = await fetchCredentials(secretId, name);
      try {
        redis = await open(credentials);
      } catch (error) {
        // The secret may have been rotated since Powertools cached it: read it again, once.
        if (!(error instanceof InputError) || !AUTH_REJECTED.test(error.message)) throw error;
        const current = await fetchCredentials(secretId, name, true);
        if (current.password === credentials.password && current.username === credentials.username) throw error;
        redis = await open(current);
      }
    }
    // A proxy that hides its shards (Redis Enterprise) reports no cluster, but refuses our moves:
    // refused here, before any step touches anything, as the CLI's connections are.
    try {
      await assertNotSharded(redis, settings.prefix, `${name} ${settings.url.redacted}`);
    } catch (error) {
      redis.disconnect();
      throw error;
    }
    return { redis, keys: new SidekiqKeys(settings.prefix), name: settings.url.redacted };
  }

  /** The CA PEM bundled with the function (relative to its code directory, where Lambda starts it). */
  private readCa(name: string, file: string): string {
    const path = resolve(this.options.codeDirectory ?? process.env['LAMBDA_TASK_ROOT'] ?? process.cwd(), file);
    try {
      // As the CLI reads its --tls-ca file (core/config/read-input-file.ts), a leading byte order
      // mark left out; the deployment checked the file so (infra/constructs/redis-endpoint.ts).
      return withoutByteOrderMark(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new InputError(`The CA file of connection "${name}" (${envVariable(name, 'TLS_CA_FILE')}=${file}) cannot be read: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * Forgets every connection, ending each (once open, for one still opening): the next `get`
   * opens a new one, through the endpoint's name again. For the handler after an invocation that
   * failed on a connection or ran out of time (create-handler.ts): a command still waiting on one
   * (a timed-out invocation's, which goes on in the background) fails at once.
   */
  discard(): void {
    for (const entry of this.open.values()) entry.promise.then((c) => c.redis.disconnect(), () => {});
    this.open.clear();
  }

  /** Ends every connection (tests; a Lambda container just freezes with them open). */
  async close(): Promise<void> {
    const all = await Promise.allSettled([...this.open.values()].map((e) => e.promise));
    for (const c of all) if (c.status === 'fulfilled') c.value.redis.disconnect();
    this.open.clear();
  }
}

/**
 * The provider for a Lambda container, configured from `env` (process.env by default, read
 * here, once). Invalid configuration gives a provider whose every `get` rejects with the
 * ConfigError listing all problems.
 */
export function createLambdaConnections(env: Readonly<Record<string, string | undefined>> = process.env, options: LambdaConnectionsOptions = {}): LambdaConnections {
  let settings: Record<string, ConnectionSettings> | ConfigError;
  try {
    settings = readConnectionEnv(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    settings = error;
  }
  return new LambdaConnections(settings, options);
}
