import { readStructuredFile } from '../config/read-structured-file.js';
import { InputError } from '../errors/input-error.js';
import { parseRedisUrl, redactRedisUrl } from '../redis/redis-url.js';
import { MAIN_STORE } from './main-store.js';

/** The Sidekiq Redis instances a GitLab `config/redis.yml` defines: store name → URL. */
export interface RedisStores {
  readonly path: string;
  /** Each store's URL, the entry's own `username`, `password` and `db` written into it. */
  readonly urls: ReadonlyMap<string, string>;
}

const SHARD = /^queues_shard_/;

/**
 * Reads GitLab's `config/redis.yml` (its `<environment>:` section, else the top level): every
 * `queues_shard_*` entry with a `url` is a store, and `main`, GitLab's default Sidekiq instance, is
 * the `main` entry, else the `queues` entry (Gitlab::Redis::Queues), else the section's own `url`
 * (resque.yml's form). Other instances (cache, shared_state…) are not Sidekiq stores and are
 * ignored. Sentinel-only entries are refused: this tool connects to one URL.
 *
 * An entry, as GitLab reads it (Gitlab::Redis::Wrapper): a URL, or a mapping whose `url` gives the
 * host, port, user, password and database and whose other keys are the client's options, merged
 * over the URL's, so that they win. Honoured here the same way: `url`, and `username`, `password`
 * and `db` over the URL's (a `password:` beside a URL holding another is GitLab's password: the key
 * wins, as it does for GitLab, whose connection is the one this tool must reach; a key left empty
 * (`password:`) is taken as not written). Not read: `ssl_params`, `ssl`, timeouts, pool sizes
 * (give --tls-ca for a private CA).
 */
export function loadRedisStores(path: string, environment = 'production'): RedisStores {
  const content = readStructuredFile(path, 'Redis configuration (redis.yml)');
  const top = isObject(content) ? content : null;
  const section = top && isObject(top[environment]) ? (top[environment] as Record<string, unknown>) : top;
  if (section === null) throw new InputError(`${path}: expected GitLab's redis.yml: a mapping with a ${environment}: section of instances such as queues_shard_catchall_b: {url: redis://…}`);
  const problems: string[] = [];
  const urls = new Map<string, string>();
  const take = (name: string, entry: unknown, where: string) => {
    const url = isObject(entry) ? entry['url'] : typeof entry === 'string' ? entry : undefined;
    if (typeof url !== 'string' || url === '') return void problems.push(`${where}: no url (a sentinel-only instance cannot be used: give its url)`);
    try {
      parseRedisUrl(url, where);
      urls.set(name, withEntryKeys(url, entry, where));
    } catch (error) {
      problems.push((error as Error).message.split(url).join(redactRedisUrl(url)));
    }
  };
  for (const [name, entry] of Object.entries(section)) if (SHARD.test(name)) take(name, entry, name);
  if ('main' in section) take(MAIN_STORE, section['main'], 'main');
  else if ('queues' in section) take(MAIN_STORE, section['queues'], 'queues');
  else if (typeof section['url'] === 'string') take(MAIN_STORE, section['url'], 'url');
  if (problems.length > 0) throw new InputError(`${path}: invalid Redis store(s):\n  - ${problems.join('\n  - ')}`);
  if (urls.size === 0) throw new InputError(`${path}: no Sidekiq Redis found (queues_shard_* entries with a url, or main/queues/url for the main instance)`);
  return { path, urls };
}

/** `url` with the entry's `username`, `password` and `db` written into it; throws what is wrong with them. */
function withEntryKeys(url: string, entry: unknown, where: string): string {
  const keys = isObject(entry) ? entry : {};
  const given = (key: string) => (keys[key] === null || keys[key] === undefined ? undefined : keys[key]);
  const text = (key: 'username' | 'password') => {
    const value = given(key);
    if (value !== undefined && typeof value !== 'string') throw new InputError(`${where}: its ${key}: must be text: write it in quotes`);
    return value;
  };
  const [username, password, db] = [text('username'), text('password'), given('db')];
  if (db !== undefined && !(typeof db === 'number' && Number.isSafeInteger(db) && db >= 0)) throw new InputError(`${where}: its db: must be a database number (0, 1, …)`);
  if (username === undefined && password === undefined && db === undefined) return url;
  // Percent-encoded whole: the URL's setters leave a "%" as it is, which would then read as an escape.
  const written = new URL(url);
  if (username !== undefined) written.username = encodeURIComponent(username);
  if (password !== undefined) written.password = encodeURIComponent(password);
  if (db !== undefined) written.pathname = `/${db}`;
  return written.toString();
}

/**
 * `--from`/`--to`/`--redis` given as a store name: its URL. A URL is returned as it is; an unknown
 * name is refused with the names the file has.
 */
export function storeUrl(stores: RedisStores | undefined, value: string, option: string): string {
  if (value.includes('://')) return value;
  if (stores === undefined) throw new InputError(`${option} ${value}: not a Redis URL (redis://… or rediss://…); a store name needs --redis-yml config/redis.yml`);
  const url = stores.urls.get(value);
  if (url === undefined) throw new InputError(`${option} ${value}: ${stores.path} defines no store ${value}; it has: ${[...stores.urls.keys()].sort().join(', ')}`);
  return url;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
