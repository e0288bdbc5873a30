import { ENVIRONMENT_OPTIONS } from '../../core/config/config-environment.js';
import { defaultLabel } from '../../core/config/validate-config.js';
import { parseRedisUrl, redactRedisUrl } from '../../core/redis/redis-url.js';

/**
 * Which password options apply to each endpoint, the first given winning (`move`'s --from: its
 * own --from-password, then the shared --password), and which of them were typed.
 */
export interface PasswordSides {
  readonly sides: Record<string, readonly string[]>;
  readonly typed: ReadonlySet<string>;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * An endpoint whose URL holds a password while another one is given apart from it (typed, its
 * variable, the configuration file's): the one apart used to win without a word, while ioredis
 * takes the URL's and redis-cli the last given, so the user cannot know which was meant. Refused,
 * naming both places (never the passwords); the same password in both is what was meant: no
 * problem. `urls`: the endpoints' URLs as resolved (a store name's from its redis.yml); `shown`:
 * how the message names an endpoint. A URL that does not parse is left to its own check.
 */
export function passwordsTwice(given: Record<string, unknown>, urls: Record<string, string>, shown: (key: string) => string, { sides, typed, env = process.env }: PasswordSides): string[] {
  const problems: string[] = [];
  for (const [key, passwords] of Object.entries(sides)) {
    const url = urls[key];
    const option = passwords.find((p) => typeof given[p] === 'string');
    if (url === undefined || option === undefined) continue;
    let inUrl: string | undefined;
    try {
      inUrl = parseRedisUrl(url, shown(key)).password;
    } catch {
      continue;
    }
    if (inUrl === undefined || inUrl === given[option]) continue;
    const place = placeOf(option, typed, env);
    // A store name is shown with its URL (from the redis.yml, its entry's password: written into
    // it, as GitLab takes it), a URL as given, redacted. The same refusal for both: a password in
    // the redis.yml is the store's own, as one in a URL is.
    const store = given[key] !== url;
    const endpoint = store ? `${shown(key)} ${String(given[key])} (${redactRedisUrl(url)})` : `${shown(key)} ${redactRedisUrl(url)}`;
    const from = store ? `its entry in ${String(given['redisYml'])}` : 'the URL';
    problems.push(
      `${place}: ${endpoint} has a password of its own, a different one: which is meant is not clear (ioredis takes the URL's, redis-cli the last given). Give the password in one place: leave ${place} out, or take the password out of ${from}`,
    );
  }
  return problems;
}

/** Where a password option's value came from, as the user set it: typed, its variable, or the configuration file. */
function placeOf(option: string, typed: ReadonlySet<string>, env: NodeJS.ProcessEnv): string {
  if (typed.has(option)) return defaultLabel([option]);
  const variable = ENVIRONMENT_OPTIONS.find((e) => e.option === option)?.variable;
  if (variable !== undefined && env[variable] !== undefined && env[variable] !== '') return `$${variable}`;
  return `the configuration file's ${option}`;
}

/**
 * Endpoints given as a store name whose redis.yml entry keeps its password in GitLab's encrypted
 * `secret_file` (Rails' encrypted credentials, readable only with GitLab's key base): without a
 * password given apart for that side, the connection would go unauthenticated. Refused, naming
 * the file, the store and the options that give it.
 */
export function secretFileWithoutPassword(given: Record<string, unknown>, stores: { path: string; secretFiles: ReadonlySet<string> }, shown: (key: string) => string, { sides }: PasswordSides): string[] {
  const problems: string[] = [];
  for (const [key, passwords] of Object.entries(sides)) {
    const store = given[key];
    if (typeof store !== 'string' || !stores.secretFiles.has(store) || passwords.some((p) => typeof given[p] === 'string')) continue;
    const options = passwords.map((p) => defaultLabel([p])).join(' or ');
    const variables = passwords.map((p) => ENVIRONMENT_OPTIONS.find((e) => e.option === p)?.variable).filter((v): v is string => v !== undefined);
    problems.push(
      `${shown(key)} ${store}: ${stores.path}'s ${store} keeps its password in GitLab's encrypted secret_file, which this tool cannot read: give the password with ${options}${variables.length > 0 ? ` (or ${variables.map((v) => `$${v}`).join(' or ')})` : ''}`,
    );
  }
  return problems;
}
