import type { RoutingPlan } from '../../core/routing/routing-plan.js';
import { loadRedisStores, storeCaFile, storeUrl, type RedisStores } from '../../core/selection/redis-stores.js';
import { CRON_WITH_SELECTION, STORE_NAME } from '../../core/config/selection-options.js';
import { defaultLabel, problemOf } from '../../core/config/validate-config.js';
import { refuseCaWithoutTls, type CaFileOf } from './connect-options.js';
import type { RoutingInput } from '../../core/workflow/workflow-input.js';
import { InputError } from '../../core/errors/input-error.js';
import { isRedisUrlForm } from '../../core/redis/redis-url.js';
import { passwordsTwice, secretFileWithoutPassword, type PasswordSides } from './password-twice.js';

/** A selection's routing plan as an execution's routing input (a class mapping, or renames). */
export function routingInputOfPlan(plan: RoutingPlan | undefined): RoutingInput | undefined {
  if (plan === undefined) return undefined;
  switch (plan.kind) {
    case 'classes':
      return { kind: 'mapping', mapping: Object.fromEntries(plan.mapping), liveQueues: [...plan.liveQueues].filter((q) => !plan.destinations.has(q)) };
    case 'renames':
      return { kind: 'renames', renames: Object.fromEntries(plan.renames) };
    case 'reverse':
      throw new Error('a selection never yields a rollback');
  }
}

/**
 * The URLs of endpoints given as URLs or as store names of `redisYml` (read once, before anything
 * connects): an unknown name is refused naming the file and the names it has.
 */
export function endpointUrls<K extends string>(redisYml: string | undefined, environment: string, endpoints: Record<K, { value: string; option: string }>): Record<K, string> {
  const stores = redisYml === undefined ? undefined : loadRedisStores(redisYml, environment);
  const urls = {} as Record<K, string>;
  for (const [key, { value, option }] of Object.entries(endpoints) as [K, { value: string; option: string }][]) urls[key] = storeUrl(stores, value, option);
  return urls;
}

/**
 * The CA file each endpoint given as a store name of `redisYml` trusts (its entry's ssl_params
 * ca_file), besides the CA options; undefined for a URL or an entry without one.
 */
export function endpointCaFiles<K extends string>(redisYml: string | undefined, environment: string, values: Record<K, string | undefined>): Record<K, CaFileOf | undefined> {
  const stores = redisYml === undefined ? undefined : loadRedisStores(redisYml, environment);
  const files = {} as Record<K, CaFileOf | undefined>;
  for (const [key, value] of Object.entries(values) as [K, string | undefined][]) {
    const path = storeCaFile(stores, value);
    // The user typed no such path: its refusal names the entry, and where a relative one is read from.
    files[key] = path === undefined || stores === undefined ? undefined : { path, where: `${stores.path}'s ${value}, its ssl_params ca_file; a relative path is read from the current directory, ${process.cwd()}` };
  }
  return files;
}

/**
 * What a command refuses of its endpoints once its options are good (endpointUrls, refuseCaWithoutTls),
 * found from the options as given so that it is said with their other problems: a store name its
 * redis.yml does not define, a CA option (`cas`: the option's key → the endpoints it is for) for
 * connections none of which speaks TLS. A value that is not text, a redis.yml that cannot be read and
 * an endpoint left unresolved are left to their own checks (said already, as an option's or a file's).
 * With `passwords`, an endpoint whose URL holds a password other than the one given apart (passwordsTwice),
 * and a store whose password is in its encrypted secret_file with none given apart (secretFileWithoutPassword).
 */
export function endpointRefusals(given: Record<string, unknown>, endpoints: Record<string, string>, cas: Record<string, readonly string[]>, passwords?: PasswordSides): string[] {
  const text = (value: unknown): value is string => typeof value === 'string' && value !== '';
  const yml = given['redisYml'];
  const environment = given['environment'] ?? 'production';
  let stores: RedisStores | undefined;
  if (text(yml) && text(environment)) {
    try {
      stores = loadRedisStores(yml, environment);
    } catch {
      // Said as the file's problem (fileProblemsOf).
    }
  }
  const problems: string[] = [];
  const urls: Record<string, string> = {};
  for (const [key, option] of Object.entries(endpoints)) {
    const value = given[key];
    if (!text(value)) continue;
    if (isRedisUrlForm(value)) urls[key] = value;
    else if (stores !== undefined && STORE_NAME.test(value)) problems.push(...problemOf(() => (urls[key] = storeUrl(stores, value, option))));
  }
  for (const [ca, keys] of Object.entries(cas)) {
    const file = given[ca];
    if (!text(file) || keys.some((k) => given[k] !== undefined && urls[k] === undefined)) continue;
    problems.push(...problemOf(() => refuseCaWithoutTls(defaultLabel([ca]), file, keys.map((k) => urls[k]))));
  }
  if (passwords) problems.push(...passwordsTwice(given, urls, (key) => endpoints[key] ?? key, passwords));
  if (passwords && stores !== undefined) problems.push(...secretFileWithoutPassword(given, stores, (key) => endpoints[key] ?? key, passwords));
  return problems;
}

/**
 * `--cron` copies every sidekiq-cron definition of the source: with a class selection (a shard
 * move) the source keeps running them too, so each schedule would push from both Redis servers.
 * Refused before anything connects.
 */
export function refuseCronWithSelection(cron: boolean | undefined, selected: boolean): void {
  if (!cron || !selected) return;
  throw new InputError(CRON_WITH_SELECTION);
}
