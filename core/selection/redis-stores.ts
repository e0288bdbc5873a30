import { readStructuredFile } from '../config/read-structured-file.js';
import { InputError } from '../errors/input-error.js';
import { parseRedisUrl, redactRedisUrl } from '../redis/redis-url.js';
import { MAIN_STORE } from './main-store.js';

/** The Sidekiq Redis instances a GitLab `config/redis.yml` defines: store name → URL. */
export interface RedisStores {
  readonly path: string;
  readonly urls: ReadonlyMap<string, string>;
}

const SHARD = /^queues_shard_/;

/**
 * Reads GitLab's `config/redis.yml` (its `<environment>:` section, else the top level): every
 * `queues_shard_*` entry with a `url` is a store, and `main`, GitLab's default Sidekiq instance, is
 * the `main` entry, else the `queues` entry (Gitlab::Redis::Queues), else the section's own `url`
 * (resque.yml's form). Other instances (cache, shared_state…) are not Sidekiq stores and are
 * ignored. Sentinel-only entries are refused: this tool connects to one URL.
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
      urls.set(name, url);
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
