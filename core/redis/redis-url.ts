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
  /** A Unix socket's path (`unix:///path` or GitLab's `unix:/path`): host and port are then unused. */
  readonly path?: string;
}

export function parseRedisUrl(url: string, option = '--redis'): RedisUrl {
  // A host and port without a scheme ("localhost:6379" parses, as scheme "localhost:"): said as the missing scheme it is.
  if (!/^\s*[a-z][a-z0-9+.-]*:\/\//i.test(url) && /^\s*[^\s/:@]+:\d+(\/\d*)?\s*$/.test(url)) {
    throw new InputError(`${option} ${shownInError(url)}: the scheme is missing: write redis://${url.trim()} (or rediss://${url.trim()} for TLS)`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InputError(`${option}: not a URL: ${shownInError(url)}${whyNotAUrl(url)} (expected redis://[user:password@]host[:port][/db] or rediss://… for TLS)`);
  }
  // GitLab can reach its Redis through a Unix socket (Omnibus's default) or through Sentinel: neither
  // is read here, and the scheme's other complaints (no host, a path for a database) would only confuse.
  if (parsed.protocol === 'unix:') return unixSocket(url, parsed, option);
  const unsupported = UNSUPPORTED.find(([scheme]) => scheme.test(parsed.protocol));
  if (unsupported) throw new InputError(`${option} ${shownInError(url)}: ${unsupported[1]}`);
  const problems: string[] = [];
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') problems.push(`the scheme must be redis:// or rediss:// (TLS), not ${parsed.protocol}//`);
  if (parsed.hostname === '') problems.push('the host is missing');
  const port = parsed.port === '' ? 6379 : Number(parsed.port);
  // 0 is no port to connect to: taken, the connection was refused as if the server were down (exit 1).
  if (port === 0) problems.push(`the port must be a number from 1 to 65535, not "${parsed.port}"`);
  const dbText = parsed.pathname.replace(/^\//, '');
  const db = databaseNumber(dbText, 'the database', problems);
  // Other clients read `?db=3` (redis-py, ioredis) or `?password=…`: ignored, the run would work
  // on database 0 or without the password. Refused, whatever it says (never shown: it may hold a secret).
  if (parsed.search !== '' || parsed.hash !== '') problems.push('a query (?…) or fragment (#…) is not read: give the database as the path (/3) and the password in the URL\'s user part or with --password');
  const username = decodeComponent(parsed.username, 'user name', problems);
  const password = decodeComponent(parsed.password, 'password', problems);
  if (problems.length > 0) throw new InputError(`${option} ${shownInError(url)}: ${problems.join('; ')}`);
  return {
    url,
    redacted: redactRedisUrl(url),
    tls: parsed.protocol === 'rediss:',
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    username,
    password,
  };
}

/**
 * Redis's `databases` setting is an int (at most 2^31-1), so no server has a database past
 * 2147483646: a larger number (99999999999999999999 is past 2^53 too) is said as too large, with
 * the bound, rather than as no number.
 */
const MAX_DATABASES = 2147483647;

function databaseNumber(text: string, what: string, problems: string[]): number {
  if (text === '') return 0;
  // Digits only: Number() would also take "0x1", "1e0" or "-0" for a database.
  if (!/^\d+$/.test(text)) {
    problems.push(`${what} must be a number, not "${text}"`);
    return NaN;
  }
  if (BigInt(text) >= BigInt(MAX_DATABASES)) {
    problems.push(`${what} ${text} is too large: Redis has at most ${MAX_DATABASES} databases, 0 to ${MAX_DATABASES - 1}`);
    return NaN;
  }
  return Number(text);
}

/**
 * A Unix socket URL as GitLab reads it (Gitlab::Redis::Wrapper): `unix:/path` or `unix:///path`, the
 * database in `?db=N` (its only query). A password goes apart (--password, an entry's password:):
 * a URL without a host holds none.
 */
function unixSocket(url: string, parsed: URL, option: string): RedisUrl {
  const problems: string[] = [];
  if (parsed.hostname !== '') problems.push(`the socket's path must start at the root: unix:///path (not unix://${parsed.hostname}/…)`);
  if (parsed.pathname === '' || parsed.pathname === '/') problems.push("the socket's path is missing");
  const query = new URLSearchParams(parsed.search);
  const db = databaseNumber(query.get('db') ?? '', 'the database (?db=)', problems);
  if ([...query.keys()].some((key) => key !== 'db') || parsed.hash !== '') problems.push('only ?db=N is read after the path');
  // decodeURIComponent throws a bare "URI malformed" on a "%" not starting an escape.
  let path = parsed.pathname;
  try {
    path = decodeURIComponent(parsed.pathname);
  } catch {
    problems.push('the socket\'s path has a "%" not followed by two hex digits: write a "%" in a path as %25');
  }
  if (problems.length > 0) throw new InputError(`${option} ${shownInError(url)}: ${problems.join('; ')}`);
  return { url, redacted: redactRedisUrl(url), tls: false, host: '', port: 0, db, username: undefined, password: undefined, path };
}

/**
 * Whether an endpoint option's value is written as a URL rather than a redis.yml store name: a
 * scheme with "//", or a Unix socket in GitLab's `unix:/path` form (no "//"), which was taken for a
 * store name and refused as "not a Redis URL".
 */
export function isRedisUrlForm(value: string): boolean {
  return value.includes('://') || /^\s*unix:/i.test(value);
}

/** The URL as a refusal shows it: redacted, and a query or fragment (`?password=…`) left out. */
const shownInError = (url: string) => {
  const shown = redactRedisUrl(url).replace(/[?#][\s\S]*$/, '?…');
  // A blank URL (`--from "$FROM "`, FROM unset) printed bare showed nothing.
  return shown.trim() === '' ? JSON.stringify(shown) : shown;
};

const UNSUPPORTED: readonly (readonly [RegExp, string])[] = [
  [/^(redis\+unix|redis-socket):$/, 'write a Unix socket as unix:///path/to/redis.socket (GitLab\'s form; ?db=N for a database other than 0)'],
  [/sentinel/, 'Redis Sentinel is not supported: give the current primary\'s address as redis://host:port (a sentinel tells it: SENTINEL get-master-addr-by-name <name>)'],
];

/**
 * Why `new URL` refused a URL, where it can be told without showing a password: a "#", "?" or "/"
 * written unencoded in the password ends the URL's user part early, and a port out of range or
 * not a number. '' when none of these.
 */
function whyNotAUrl(url: string): string {
  const auth = /^\s*[a-z][a-z0-9+.-]*:\/\/([\s\S]*)@/i.exec(url)?.[1];
  if (auth !== undefined && /[#?/]/.test(auth)) return ': its password has a "#", "?" or "/" (percent-encode them: %23, %3F, %2F; or give the password with --password)';
  // The port is looked for after the credentials (up to the last "@"), never in them: with the host
  // left out (redis://:password@/0) the optional credentials' group was skipped and the text from
  // the password's ":" to the "@" was quoted as the port, printing the password.
  const hostAndAfter = url.replace(/^(\s*[a-z][a-z0-9+.-]*:\/\/)[\s\S]*@/i, '$1');
  const port = /^\s*[a-z][a-z0-9+.-]*:\/\/(?:\[[^\]]*\]|[^/:?#@]*):([^/?#]*)/i.exec(hostAndAfter)?.[1];
  if (port !== undefined && (!/^\d+$/.test(port) || Number(port) > 65535)) return `: the port must be a number from 1 to 65535, not "${port}"`;
  return '';
}

/**
 * A percent-encoded user name or password, decoded; a "%" not followed by two hex digits (a password
 * written unencoded) is a problem named without the text, not decodeURIComponent's bare "URI malformed".
 */
function decodeComponent(text: string, what: string, problems: string[]): string | undefined {
  if (text === '') return undefined;
  try {
    return decodeURIComponent(text);
  } catch {
    problems.push(`the ${what} is not validly percent-encoded (write "%" as %25, or give the password with --password)`);
    return undefined;
  }
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
