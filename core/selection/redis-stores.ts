import { readInputFile } from '../config/read-input-file.js';
import { readStructuredFile } from '../config/read-structured-file.js';
import { InputError } from '../errors/input-error.js';
import { isRedisUrlForm, parseRedisUrl, redactRedisUrl } from '../redis/redis-url.js';
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
  /** Each TLS store's `ssl_params: {ca_file}`, as written: trusted for its connections besides Node's own CAs. */
  readonly caFiles: ReadonlyMap<string, string>;
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
 * be read: such a store needs its password given apart (--password or its variable). TLS as
 * redis-client takes it: `ssl: true` (or false) over the URL's scheme, and, for a TLS entry,
 * `ssl_params`' `ca_file` trusted beside Node's CAs (and the CA options); what would have this tool
 * check less than it always does (`verify_mode: 0`, `verify_hostname: false`) or needs what it does
 * not do (a client certificate, `ca_path`, other keys) is refused when named. Not read: timeouts,
 * pool sizes. GitLab renders the
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
  const caFiles = new Map<string, string>();
  const take = (name: string, entry: unknown, where: string) => {
    try {
      const { url, caFile } = entryConnection(entry);
      urls.set(name, url);
      if (caFile !== undefined) caFiles.set(name, caFile);
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
  return { path, urls, unusable, secretFiles, caFiles };
}

/**
 * An entry's URL with its `username`, `password`, `db` and `ssl` written into it, and its TLS CA
 * file; throws why it cannot be used.
 */
function entryConnection(entry: unknown): { url: string; caFile?: string } {
  const url = entryUrl(entry);
  const keys = isObject(entry) ? entry : {};
  const ssl = keys['ssl'] ?? undefined;
  if (ssl !== undefined && typeof ssl !== 'boolean') throw new Error('its ssl: must be true or false');
  if (ssl === true && /^\s*unix:/i.test(url)) throw new Error('its ssl: true beside a Unix socket url: a socket is not reached with TLS here: leave ssl out, or give its rediss:// URL instead of the store name');
  // As redis-client reads it: the entry's `ssl` wins over the URL's scheme (GitLab merges it over).
  const tls = ssl ?? /^\s*rediss:/i.test(url);
  const withTls = ssl === undefined ? url : url.replace(/^(\s*)rediss?:/i, `$1${ssl ? 'rediss' : 'redis'}:`);
  // redis-client uses ssl_params only for a TLS connection, as here: without TLS they are not read.
  const caFile = tls ? tlsCaFile(keys['ssl_params'] ?? undefined) : undefined;
  return caFile === undefined ? { url: withTls } : { url: withTls, caFile };
}

/** ssl_params keys that need something this tool does not do, and what to give instead. */
const SSL_PARAMS_REFUSED: readonly (readonly [readonly string[], string])[] = [
  [['cert_file', 'key_file'], '(a client certificate) cannot be read by this tool: give the URL of a Redis that takes connections without one instead of the store name'],
  [['ca_path'], 'cannot be read by this tool (ca_file only): give the CA file as ssl_params ca_file or with --tls-ca'],
];
const SSL_PARAMS_READ = new Set(['ca_file', 'verify_mode', 'verify_hostname', 'cert_file', 'key_file', 'ca_path']);

/**
 * The CA file of an entry's `ssl_params` (GitLab hands them to OpenSSL's context), or undefined;
 * throws what cannot be honoured. This tool always verifies the server's certificate and its name:
 * `verify_mode: 0` (VERIFY_NONE) and `verify_hostname: false` would have it connect where GitLab
 * does not check, and are refused rather than ignored; so is any key it does not read.
 */
function tlsCaFile(params: unknown): string | undefined {
  if (params === undefined) return undefined;
  if (!isObject(params)) throw new Error('its ssl_params: must be a mapping (ca_file: …)');
  const present = (key: string) => params[key] !== undefined && params[key] !== null;
  const verifyMode = params['verify_mode'];
  if (present('verify_mode') && verifyMode !== 1) {
    throw new Error(
      verifyMode === 0
        ? "its ssl_params verify_mode: 0 (OpenSSL::SSL::VERIFY_NONE) turns off the check of the server's certificate, which this tool always makes: give the CA that signed it as ssl_params ca_file (or --tls-ca), and leave verify_mode out"
        : `its ssl_params verify_mode: must be 1 (OpenSSL::SSL::VERIFY_PEER, the check this tool always makes) or left out`,
    );
  }
  if (present('verify_hostname') && params['verify_hostname'] !== true) {
    throw new Error("its ssl_params verify_hostname: false turns off the check of the server's name, which this tool always makes: give the host name its certificate names in the url, and leave verify_hostname out");
  }
  for (const [names, why] of SSL_PARAMS_REFUSED) {
    const given = names.filter(present);
    if (given.length > 0) throw new Error(`its ssl_params ${given.join(', ')} ${why}`);
  }
  const unread = Object.keys(params).filter((key) => !SSL_PARAMS_READ.has(key) && present(key));
  if (unread.length > 0) throw new Error(`its ssl_params ${unread.join(', ')}: not read by this tool (it reads ca_file, verify_mode and verify_hostname): take them out of a copy of the file, or give the Redis URL (and --tls-ca) instead of the store name`);
  const caFile = params['ca_file'];
  if (!present('ca_file')) return undefined;
  if (typeof caFile !== 'string' || caFile === '') throw new Error('its ssl_params ca_file: must be the path of a PEM file of CA certificates');
  return caFile;
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
  const socket = parseRedisUrl(url, 'its url').path !== undefined;
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
  if (socket) return socketUrl(url, username, password, db);
  // Percent-encoded whole: the URL's setters leave a "%" as it is, which would then read as an escape.
  const written = new URL(url);
  if (username !== undefined) written.username = encodeURIComponent(username);
  if (password !== undefined) written.password = encodeURIComponent(password);
  if (db !== undefined) written.pathname = `/${db}`;
  return written.toString();
}

/**
 * A Unix socket entry's URL with its `db` (GitLab's ?db=N). A URL without a host holds no password:
 * an entry's password (or user) is refused with where to give it instead, not dropped.
 */
function socketUrl(url: string, username: string | undefined, password: string | undefined, db: unknown): string {
  if ((username ?? '') !== '' || (password ?? '') !== '') {
    throw new Error("its password: (or username:) beside a Unix socket url cannot be written into that url: give the socket's URL (unix:///path) instead of the store name, with --password (or its variable)");
  }
  if (db === undefined) return url;
  const written = new URL(url);
  written.search = `?db=${db as number}`;
  return written.toString();
}

/**
 * `--from`/`--to`/`--redis` given as a store name: its URL. A URL is returned as it is; an unknown
 * name is refused with the names the file has, an entry this tool cannot use with why and what to do.
 */
export function storeUrl(stores: RedisStores | undefined, value: string, option: string): string {
  if (isRedisUrlForm(value)) return value;
  if (stores === undefined) throw new InputError(`${option} ${value}: not a Redis URL (redis://… or rediss://…); a store name needs --redis-yml config/redis.yml`);
  const url = stores.urls.get(value);
  const unusable = stores.unusable.get(value);
  if (unusable !== undefined) throw new InputError(`${option} ${value}: ${stores.path}'s ${unusable}`);
  if (url === undefined) throw new InputError(`${option} ${value}: ${stores.path} defines no store ${value}; it has: ${[...stores.urls.keys(), ...stores.unusable.keys()].sort().join(', ')}`);
  return url;
}

/** The CA file of the store `value` names (its entry's ssl_params ca_file), or undefined (a URL, no file, none written). */
export function storeCaFile(stores: RedisStores | undefined, value: string | undefined): string | undefined {
  return value === undefined || isRedisUrlForm(value) ? undefined : stores?.caFiles.get(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
