import { InputError } from '../errors/input-error.js';

/**
 * A Redis URL as the user gave it, validated: `redis://` or `rediss://` (TLS), optional user and
 * password, host, port, database number. Messages and logs only ever see `redacted`.
 */
export interface RedisUrl {
  readonly url: string;
  readonly redacted: string;
  readonly tls: boolean;
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
}

export function parseRedisUrl(url: string, option = '--redis'): RedisUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InputError(`${option}: not a URL: ${redactRedisUrl(url)} (expected redis://[user:password@]host[:port][/db] or rediss://… for TLS)`);
  }
  const problems: string[] = [];
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') problems.push(`the scheme must be redis:// or rediss:// (TLS), not ${parsed.protocol}//`);
  if (parsed.hostname === '') problems.push('the host is missing');
  const port = parsed.port === '' ? 6379 : Number(parsed.port);
  const dbText = parsed.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) problems.push(`the database must be a number, not "${dbText}"`);
  if (problems.length > 0) throw new InputError(`${option} ${redactRedisUrl(url)}: ${problems.join('; ')}`);
  return {
    url,
    redacted: redactRedisUrl(url),
    tls: parsed.protocol === 'rediss:',
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    username: parsed.username === '' ? undefined : decodeURIComponent(parsed.username),
    password: parsed.password === '' ? undefined : decodeURIComponent(parsed.password),
  };
}

/**
 * The URL with its password replaced by `***`, safe for messages and logs. Everything up to the
 * last "@" is credentials: a password written with an unencoded "@" (or "/") is hidden whole.
 * The scheme is not anchored at the start: `new URL` accepts a URL with leading spaces (a quoted
 * argument, a line of a file), and the text in front of the scheme must not keep the password shown.
 */
export function redactRedisUrl(url: string): string {
  // `[\s\S]*`, not `.*`: new URL drops a line break or tab inside the URL, so one may stand in a
  // password too, and the greedy match must still reach the last "@".
  return url.replace(/([a-z][a-z0-9+.-]*:\/\/)([\s\S]*)@/i, (_m, scheme: string, auth: string) => {
    const colon = auth.indexOf(':');
    return colon < 0 ? `${scheme}***@` : `${scheme}${auth.slice(0, colon)}:***@`;
  });
}
