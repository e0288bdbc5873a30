import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { z } from 'zod';
import { InputError } from '../../core/errors/input-error.js';
import { FatalError, RetryableError } from '../../core/errors/sidekiq-migrate-error.js';

/** How to authenticate to a Redis: an AUTH token alone, or an ACL user and its password. */
export interface RedisCredentials {
  readonly username?: string;
  readonly password: string;
}

/** Secrets Manager could not be read for now (throttled, a network blip, a 5xx): retry later. */
export class SecretUnavailableError extends RetryableError {}

/** Secrets Manager refused (no such secret, no permission, cannot decrypt): fix the deployment. */
export class SecretAccessError extends FatalError {}

/** Powertools caches a secret this long (seconds), so a rotated one is picked up within minutes. */
export const SECRET_MAX_AGE_SECONDS = 300;

const aclUser = z.looseObject({ username: z.string().min(1).optional(), password: z.string().min(1) });

/**
 * The credentials in a secret: a plain AUTH token (ElastiCache's `authToken`), or JSON
 * `{"username": "...", "password": "..."}` for an ACL user (other fields are ignored).
 * Messages name the secret, never its value.
 */
export function parseCredentials(value: string | Uint8Array | undefined, what: string): RedisCredentials {
  const text = value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : value;
  if (text === undefined || text === '') throw new InputError(`${what} is empty: store the AUTH token, or {"username": "...", "password": "..."} for an ACL user`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { password: text };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { password: text };
  const user = aclUser.safeParse(json);
  if (!user.success) throw new InputError(`${what} is JSON but not {"username": "...", "password": "..."}: it needs a non-empty "password" string (and "username", if given, a non-empty string)`);
  return { ...(user.data.username !== undefined ? { username: user.data.username } : {}), password: user.data.password };
}

/**
 * Reads the credentials for a connection from Secrets Manager (by complete ARN or name) through Powertools Parameters
 * (cached for SECRET_MAX_AGE_SECONDS; `forceFetch` skips the cache, after a rejected password).
 */
export async function fetchCredentials(secretId: string, connection: string, forceFetch = false): Promise<RedisCredentials> {
  const what = `The secret of connection "${connection}" (${secretId})`;
  let value: string | Uint8Array | undefined;
  try {
    value = await getSecret(secretId, { maxAge: SECRET_MAX_AGE_SECONDS, forceFetch });
  } catch (error) {
    throw describeSecretError(error, what);
  }
  return parseCredentials(value, what);
}

const RETRYABLE_SDK_ERRORS = new Set(['ThrottlingException', 'TooManyRequestsException', 'InternalServiceError', 'InternalServiceErrorException', 'ServiceUnavailable', 'RequestTimeout', 'RequestTimeoutException', 'TimeoutError']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

/** Powertools wraps the SDK's error as `cause`: decide on that one whether a retry may help. */
function describeSecretError(error: unknown, what: string): Error {
  const sdk = ((error as { cause?: unknown })?.cause ?? error) as {
    name?: string;
    message?: string;
    code?: string;
    $fault?: string;
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: number };
  };
  const status = sdk?.$metadata?.httpStatusCode ?? 0;
  const message = `${what} could not be read: ${sdk?.name ?? 'Error'}: ${sdk?.message ?? String(error)}`;
  const transient =
    sdk?.$fault === 'server' || sdk?.$retryable !== undefined || status === 429 || status >= 500 || RETRYABLE_SDK_ERRORS.has(sdk?.name ?? '') || NETWORK_CODES.has(sdk?.code ?? '');
  return transient ? new SecretUnavailableError(message, { cause: error }) : new SecretAccessError(message, { cause: error });
}
