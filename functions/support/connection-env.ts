import { z } from 'zod';
import { validateConfig } from '../../core/config/validate-config.js';
import { InputError } from '../../core/errors/input-error.js';
import { parseRedisUrl, type RedisUrl } from '../../core/redis/redis-url.js';

/** Where a Lambda finds the Redis behind a connection name (`source`, `target`). */
export interface ConnectionSettings {
  /** Host, port, db, TLS, and the user if the URL names one; never a password. */
  readonly url: RedisUrl;
  /** Sidekiq key prefix (redis-namespace), e.g. "resque:gitlab:"; "" for none. */
  readonly prefix: string;
  /** Secrets Manager secret with the AUTH token, or `{"username","password"}` for an ACL user: its complete ARN… */
  readonly secretArn?: string;
  /** …or its name (unique in the account and region). */
  readonly secretName?: string;
  /**
   * A PEM file of the CA(s) to trust for rediss:// (a private CA, e.g. Redis Enterprise's
   * self-signed one), relative to the function's code directory (the deployment bundles it).
   */
  readonly tlsCaFile?: string;
}

export const ENV_PREFIX = 'SIDEKIQ_MIGRATE_';
// Longest first: TLS_CA_FILE must not be read as a field "FILE" of a connection "…_TLS_CA".
const FIELDS = ['TLS_CA_FILE', 'SECRET_NAME', 'SECRET_ARN', 'PREFIX', 'URL'] as const;

/** The env name of a connection: `source` → `SOURCE`, `old-redis` → `OLD_REDIS`. */
export function envNameOf(connection: string): string {
  return connection.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

/** `SIDEKIQ_MIGRATE_<NAME>_<FIELD>` for a connection name and a field (URL, PREFIX, SECRET_ARN). */
export function envVariable(connection: string, field: string): string {
  return `${ENV_PREFIX}${envNameOf(connection)}_${field}`;
}

const secretArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/, 'must be a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)');

const redisUrl = z.string({ error: 'is missing (redis://host:port, or rediss://host:port for TLS)' }).transform((value, ctx): RedisUrl => {
  let url: RedisUrl;
  try {
    url = parseRedisUrl(value, '');
  } catch (error) {
    // parseRedisUrl's messages carry the URL redacted.
    ctx.addIssue({ code: 'custom', message: error instanceof InputError ? error.message.replace(/^[:\s]+/, '') : 'is not a valid Redis URL' });
    return z.NEVER;
  }
  if (url.path !== undefined) {
    ctx.addIssue({ code: 'custom', message: `${url.redacted} is a Unix socket, which a Lambda function cannot reach (it runs on AWS, not on the Redis host): give the Redis's TCP address, redis://host:port (or rediss://), or run the local CLI on the Redis host` });
    return z.NEVER;
  }
  if (url.password !== undefined) {
    ctx.addIssue({ code: 'custom', message: `${url.redacted} contains a password: secrets do not belong in the environment; put it in Secrets Manager and name the secret in the _SECRET_ARN variable` });
    return z.NEVER;
  }
  return url;
});

const secretName = z.string().regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/, 'must be a Secrets Manager secret name (letters, digits and /_+=.@-)');
const caFile = z.string().regex(/^[A-Za-z0-9_./-]+\.pem$/, 'must be a .pem file in the function bundle, e.g. tls/source-ca.pem');

const connectionSchema = z
  .strictObject({
    URL: redisUrl,
    PREFIX: z.string().optional(),
    SECRET_ARN: secretArn.optional(),
    SECRET_NAME: secretName.optional(),
    TLS_CA_FILE: caFile.optional(),
  })
  .refine((c) => c.SECRET_ARN === undefined || c.SECRET_NAME === undefined, { message: 'give the secret by SECRET_ARN or by SECRET_NAME, not both', path: ['SECRET_NAME'] });

const environmentSchema = z
  .record(z.string(), connectionSchema)
  .refine((connections) => Object.keys(connections).length > 0, `no Redis connection is configured: set ${ENV_PREFIX}SOURCE_URL (and ${ENV_PREFIX}TARGET_URL for a transfer)`);

/**
 * Reads every connection from the environment: `SIDEKIQ_MIGRATE_<NAME>_URL` (required),
 * `_PREFIX`, `_SECRET_ARN` or `_SECRET_NAME`, and `_TLS_CA_FILE` (optional). Validated once, every problem reported together in one
 * ConfigError (an InputError). A misspelt variable of a configured connection
 * (`SIDEKIQ_MIGRATE_SOURCE_PREFX`) is a problem; other `SIDEKIQ_MIGRATE_*` variables are not ours.
 * Keys of the result are env names (`SOURCE`).
 */
export function readConnectionEnv(env: Readonly<Record<string, string | undefined>>): Record<string, ConnectionSettings> {
  const raw: Record<string, Record<string, string>> = {};
  const others: [string, string][] = [];
  for (const [variable, value] of Object.entries(env)) {
    if (!variable.startsWith(ENV_PREFIX) || value === undefined) continue;
    const rest = variable.slice(ENV_PREFIX.length);
    const field = FIELDS.find((f) => rest.endsWith(`_${f}`) && rest.length > f.length + 1);
    if (field) (raw[rest.slice(0, -field.length - 1)] ??= {})[field] = value;
    else others.push([rest, value]);
  }
  // A variable that starts like a configured connection's but names no field: a typo.
  for (const [rest, value] of others) {
    const name = Object.keys(raw).find((n) => rest.startsWith(`${n}_`));
    if (name) raw[name]![rest.slice(name.length + 1)] = value;
  }
  const names = new Set(Object.keys(raw));
  const label = (path: readonly PropertyKey[]): string => {
    const [name, field] = path.map(String);
    if (field !== undefined) return `${ENV_PREFIX}${name}_${field}`;
    return name !== undefined && names.has(name) ? `${ENV_PREFIX}${name}_*` : String(name);
  };
  const parsed = validateConfig(environmentSchema, raw, label);
  const settings: Record<string, ConnectionSettings> = {};
  for (const [name, c] of Object.entries(parsed)) {
    settings[name] = {
      url: c.URL,
      prefix: c.PREFIX ?? '',
      ...(c.SECRET_ARN ? { secretArn: c.SECRET_ARN } : {}),
      ...(c.SECRET_NAME ? { secretName: c.SECRET_NAME } : {}),
      ...(c.TLS_CA_FILE ? { tlsCaFile: c.TLS_CA_FILE } : {}),
    };
  }
  return settings;
}
