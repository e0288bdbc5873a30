import { readInputFile } from '../config/read-input-file.js';
import { readStructuredFile } from '../config/read-structured-file.js';
import { InputError } from '../errors/input-error.js';
import { parseRedisUrl, redactRedisUrl } from '../redis/redis-url.js';
import { MAIN_STORE } from './main-store.js';

/** The Sidekiq Redis instances a GitLab `config/redis.yml` defines: store name → URL. */
export interface RedisStores {
  readonly path: string;
  /** Each usable store's URL, the entry's own `username`, `password` and `db` written into it. */
  readonly urls: ReadonlyMap<string, string>;
  /** Entries this tool cannot connect with, store → "<entry> cannot be used: why, and what to do instead": refused when named (storeUrl). */
  readonly unusable: ReadonlyMap<string, string>;
  /** Stores whose password GitLab decrypts from a `secret_file`: usable only with a password given apart. */
  readonly secretFiles: ReadonlySet<string>;
}

const SHARD = /^queues_shard_/;
const WHAT = 'Redis configuration (redis.yml)';

/**
 * Reads GitLab's `config/redis.yml` (its `<environment>:` section, else the top level): every
 * `queues_shard_*` entry is a store, and `main`, GitLab's default Sidekiq instance, is the `main`
 * entry, else the `queues` entry (Gitlab::Redis::Queues), else the section's own `url` (resque.yml's
 * form). Other instances (cache, shared_state…) are not Sidekiq stores and are ignored.
 *
 * An entry, as GitLab reads it (Gitlab::Redis::Wrapper): a URL, or a mapping whose `url` gives the
 * host, port, user, password and database and whose other keys are the client's options, merged
 * over the URL's, so that they win. Honoured here the same way: `url`, and `username`, `password`
 * and `db` over the URL's (a `password:` beside a URL holding another is GitLab's password: the key
 * wins, as it does for GitLab, whose connection is the one this tool must reach; a `password:` or
 * `username:` left empty is none, the URL's too: GitLab's Hash#merge puts its nil over the URL's). Refused when named, with what to do instead: `sentinels:`
 * (the url then names the sentinels' primary group, not a server), `cluster:`, a `unix:` socket URL
 * (parseRedisUrl), an entry without a url. `secret_file:` (GitLab's encrypted credentials) cannot
 * be read: such a store needs its password given apart (--password or its variable). Not read:
 * `ssl_params`, `ssl`, timeouts, pool sizes (give --tls-ca for a private CA). GitLab renders the
 * file as ERB before reading it: a file still holding `<% … %>` (a template) is refused whole.
 */
export function loadRedisStores(path: string, environment = 'production'): RedisStores {
  if (readInputFile(path, WHAT).includes('<%')) {
    throw new InputError(`${path}: the file still holds ERB (<% … %>), which GitLab renders when it reads it (a Helm chart's or Omnibus's template): give the rendered file, or the Redis URL (and --password) instead of a store name`);
  }
  const content = readStructuredFile(path, WHAT);
  const top = isObject(content) ? content : null;
  const section = top && isObject(top[environment]) ? (top[environment] as Record<string, unknown>) : top;
  if (section === null) throw new InputError(`${path}: expected GitLab's redis.yml: a mapping with a ${environment}: section of instances such as queues_shard_catchall_b: {url: redis://…}`);
  const urls = new Map<string, string>();
  const unusable = new Map<string, string>();
  const secretFiles = new Set<string>();
  const take = (name: string, entry: unknown, where: string) => {
    try {
      urls.set(name, entryUrl(entry));
      if (isObject(entry) && entry['secret_file'] !== undefined && entry['secret_file'] !== null) secretFiles.add(name);
    } catch (error) {
      const url = isObject(entry) ? entry['url'] : entry;
      const why = (error as Error).message;
      unusable.set(name, `${where} cannot be used: ${typeof url === 'string' && url !== '' ? why.split(url).join(redactRedisUrl(url)) : why}`);
    }
  };
  for (const [name, entry] of Object.entries(section)) if (SHARD.test(name)) take(name, entry, name);
  if ('main' in section) take(MAIN_STORE, section['main'], 'main');
  else if ('queues' in section) take(MAIN_STORE, section['queues'], 'queues');
  else if (typeof section['url'] === 'string') take(MAIN_STORE, section['url'], 'url');
  if (urls.size === 0 && unusable.size === 0) throw new InputError(`${path}: no Sidekiq Redis found (queues_shard_* entries with a url, or main/queues/url for the main instance)`);
  return { path, urls, unusable, secretFiles };
}

/** An entry's URL with its `username`, `password` and `db` written into it; throws why it cannot be used. */
function entryUrl(entry: unknown): string {
  const keys = isObject(entry) ? entry : {};
  const given = (key: string) => (keys[key] === null || keys[key] === undefined ? undefined : keys[key]);
  if (given('sentinels') !== undefined) {
    throw new Error("it reaches its Redis through Sentinel (sentinels:; its url names the primary's group, not a server), which this tool does not: give the current primary's address as redis://host:port instead of the store name (a sentinel tells it: SENTINEL get-master-addr-by-name <name>)");
  }
  if (given('cluster') !== undefined) throw new Error('it is a Redis Cluster (cluster:), which this tool does not support (nor does Sidekiq): give the URL of the one Redis that holds the jobs instead of the store name');
  const url = typeof entry === 'string' ? entry : keys['url'];
  if (typeof url !== 'string' || url === '') throw new Error('it has no url: give its Redis URL instead of the store name');
  parseRedisUrl(url, 'its url');
  // A key written empty (`password:`, YAML null) is none, not "not written": GitLab merges the
  // entry's keys over the URL's (Hash#merge), so its nil replaces the URL's password and redis-client
  // sends no AUTH. `password: ""` is an empty password, which only a server without one takes: none too.
  const text = (key: 'username' | 'password') => {
    if (key in keys && keys[key] === null) return '';
    const value = given(key);
    if (value !== undefined && typeof value !== 'string') throw new Error(`its ${key}: must be text: write it in quotes`);
    return value;
  };
  const [username, password, db] = [text('username'), text('password'), given('db')];
  if (db !== undefined && !(typeof db === 'number' && Number.isSafeInteger(db) && db >= 0)) throw new Error('its db: must be a database number (0, 1, …)');
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
 * name is refused with the names the file has, an entry this tool cannot use with why and what to do.
 */
export function storeUrl(stores: RedisStores | undefined, value: string, option: string): string {
  if (value.includes('://')) return value;
  if (stores === undefined) throw new InputError(`${option} ${value}: not a Redis URL (redis://… or rediss://…); a store name needs --redis-yml config/redis.yml`);
  const url = stores.urls.get(value);
  const unusable = stores.unusable.get(value);
  if (unusable !== undefined) throw new InputError(`${option} ${value}: ${stores.path}'s ${unusable}`);
  if (url === undefined) throw new InputError(`${option} ${value}: ${stores.path} defines no store ${value}; it has: ${[...stores.urls.keys(), ...stores.unusable.keys()].sort().join(', ')}`);
  return url;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
