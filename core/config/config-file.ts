import { z } from 'zod';
import { parseRedisUrl, redactRedisUrl } from '../redis/redis-url.js';
import { SORTED_SET_NAMES, type SortedSetName } from '../redis/sidekiq-keys.js';
import { commaList, emptyEntriesProblem } from './comma-list.js';
import { deployedOptionFields } from './deployed-options.js';
import { MAX_TIME_LIMIT_SECONDS } from './drain-check-options.js';
import { redactUserinfo } from './redact-secrets.js';
import { STORE_NAME } from './selection-options.js';
import { MAX_ASKED_REPLICAS } from '../workflow/workflow-input.js';
import { MAX_RATE_LIMIT, RATE_LIMIT_AT_MOST } from '../transfer/rate-limiter.js';

/**
 * The CLI's configuration file (`sidekiq-migrate.config.json|yaml|yml`): connections, prefixes and
 * routing that would otherwise be repeated as flags. Keys are the CLI's option names in camelCase
 * (`--to-namespace` → `toNamespace`) so that the mapping needs no table; routing and the AWS
 * deployment are grouped because they are replaced or used as a whole. Strict: a misspelt key would
 * otherwise be a setting silently not applied.
 */

const REDIS_URL = 'a Redis URL: redis://[user:password@]host[:port][/db] or rediss://… (TLS)';

/**
 * Checked by the parser the connection uses. Its messages show the URL redacted up to the first
 * "@"; the whole credentials are hidden here, in case the password holds an unencoded "@".
 */
function redisUrlProblem(url: string): string | undefined {
  try {
    parseRedisUrl(url, 'url');
    return undefined;
  } catch (error) {
    return (error as Error).message.replace(/^url:? /, '').split(redactRedisUrl(url)).join(redactUserinfo(url));
  }
}

const redisUrl = z
  .string({ error: REDIS_URL })
  .min(1, REDIS_URL)
  .superRefine((url, ctx) => {
    if (url === '') return; // said by min(1) alone
    const problem = redisUrlProblem(url);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

/**
 * `from`/`to`: a URL, or a store name of `redisYml` (main, queues_shard_…), resolved by the command.
 * Neither, what is wrong with it as a URL is said (a union said only what both forms expect, and
 * `from: http://…` read as a typo hunt); a store name cannot hold ":" or "/", so that is the likely one.
 */
const ENDPOINT = `${REDIS_URL}, or a store name of redisYml`;
const endpoint = z
  .string({ error: ENDPOINT })
  .min(1, `${ENDPOINT}, not empty`)
  .superRefine((value, ctx) => {
    if (value === '' || STORE_NAME.test(value)) return; // empty: said by min(1) alone
    const problem = redisUrlProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `${problem}; nor is it a store name of redisYml (a letter, then letters, digits, _ or -)` });
  });

const path = (what: string) => z.string({ error: `${what}: a file path` }).min(1, `${what}: a file path, not empty`);

// Numbers and booleans may arrive as text through `${VAR}`: their plain spellings are accepted.
const wholeNumber = (what: string, max = Number.MAX_SAFE_INTEGER, atMost = `${what} is at most ${max}`) =>
  z.preprocess(
    (v) => (typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v),
    // One problem, the bound first (past 2^53 it was also "must be a whole number"), as positiveInt.
    z.number({ error: (issue) => (typeof issue.input === 'string' && issue.input.trim() !== '' ? `${what} must be a whole number in decimal digits, not ${JSON.stringify(issue.input)}` : `${what} must be a number`) }).superRefine((n, ctx) => {
      const problem = n > max ? atMost : !Number.isInteger(n) ? `${what} must be a whole number` : n <= 0 ? `${what} must be positive` : undefined;
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  );
const flag = z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean({ error: 'true or false' }));

/** A list of set names, or the CLI's comma-separated spelling. */
const sets = z
  .union([z.string(), z.array(z.string())], { error: `a list of sorted sets (${SORTED_SET_NAMES.join(', ')}), or one comma-separated string` })
  .transform((value, ctx) => {
    const empty = typeof value === 'string' && value !== '' ? emptyEntriesProblem(value, 'set names', 'schedule,retry') : undefined;
    if (empty) ctx.addIssue({ code: 'custom', message: empty });
    // A list's empty entry is no name (`sets: [schedule, ""]`): said, as the comma form's is.
    const emptyAt = typeof value === 'string' ? [] : value.flatMap((s, i) => (s.trim() === '' ? [i + 1] : []));
    if (emptyAt.length > 0) ctx.addIssue({ code: 'custom', message: `${emptyAt.length === 1 ? `entry ${emptyAt[0]} is` : `entries ${emptyAt.join(', ')} are`} empty: give set names (${SORTED_SET_NAMES.join(', ')})` });
    const names = typeof value === 'string' ? commaList(value) : [...new Set(value.map((s) => s.trim()).filter(Boolean))];
    const unknown = names.filter((n) => !(SORTED_SET_NAMES as readonly string[]).includes(n));
    if (unknown.length > 0) ctx.addIssue({ code: 'custom', message: `unknown set(s) ${unknown.join(', ')}; choose from ${SORTED_SET_NAMES.join(', ')}` });
    return [...new Set(names)] as SortedSetName[];
  });

const catalog = z
  .union([path('a catalog'), z.array(path('a catalog')).min(1, 'at least one catalog')], { error: "a path, or a list of paths (GitLab's all_queues.yml, then EE's)" })
  .transform((value) => (typeof value === 'string' ? [value] : value));

/** `--rename`'s `OLD=NEW` strings, or the more natural mapping `{old: new}`. */
const rename = z
  .union(
    [
      z.array(z.string().regex(/^[^=]+=.+$/, 'OLD=NEW, e.g. mailers_old=mailers')),
      z.record(z.string().min(1), z.string({ error: 'the new queue name must be a string (old: new)' }).min(1, 'the new queue name is empty (old: new)')),
    ],
    { error: 'a list of OLD=NEW, or a mapping old: new' },
  )
  .transform((value, ctx) => {
    if (Array.isArray(value)) return value;
    // Passed on as OLD=NEW and split at the first "=": such an old name would rename another queue.
    for (const from of Object.keys(value)) {
      if (from.includes('=')) ctx.addIssue({ code: 'custom', path: [from], message: 'a queue whose name holds "=" cannot be renamed (a rename is passed on as OLD=NEW)' });
    }
    return Object.entries(value).map(([from, to]) => `${from}=${to}`);
  });

export const routingSectionSchema = z
  .strictObject({
    catalog: catalog.optional(),
    rules: path('the routing rules').optional(),
    environment: z.string().min(1, 'a gitlab.yml section, e.g. production').refine((name) => name === '' || name.trim() !== '', 'a gitlab.yml section, e.g. production, not blank').optional(),
    mapping: path('the mapping').optional(),
    rename: rename.optional(),
  }, { error: 'a mapping with catalog and rules, mapping, or rename' })
  .superRefine((o, ctx) => {
    // The command checks this too, but in its flags' words; here the file's keys are named.
    const forms = [o.rules !== undefined || o.catalog !== undefined, o.mapping !== undefined, o.rename !== undefined].filter(Boolean).length;
    if (forms > 1) ctx.addIssue({ code: 'custom', message: 'give one of catalog and rules, mapping, or rename, not several' });
    if (o.rules !== undefined && o.catalog === undefined) ctx.addIssue({ code: 'custom', path: ['catalog'], message: "required with rules: the worker catalog (GitLab's app/workers/all_queues.yml)" });
    if (o.catalog !== undefined && o.rules === undefined) ctx.addIssue({ code: 'custom', path: ['rules'], message: 'required with catalog: the routing rules' });
  });

/** Where the deployed state machine is (read by start, watch, status, list, stop and drain-check --deployed). */
export const awsSectionSchema = z.strictObject(
  {
    region: deployedOptionFields.region,
    stack: deployedOptionFields.stack,
    stateMachine: deployedOptionFields.stateMachine,
  },
  { error: 'a mapping with region, stack and stateMachine' },
);

export const configFileSchema = z.strictObject(
  {
    redis: redisUrl.optional(),
    from: endpoint.optional(),
    to: endpoint.optional(),
    namespace: z.string({ error: 'a key prefix, e.g. "resque:gitlab:"' }).optional(),
    toNamespace: z.string({ error: 'a key prefix, e.g. "resque:gitlab:"' }).optional(),
    tlsCa: path('the CA certificate(s)').optional(),
    fromTlsCa: path('the CA certificate(s) of the old Redis').optional(),
    toTlsCa: path('the CA certificate(s) of the new Redis').optional(),
    // Apart from the URLs: a password with '#', '%' or '?' breaks a URL (write it as ${VAR}).
    password: z.string({ error: 'a password' }).min(1, 'a password, not empty').optional(),
    fromPassword: z.string({ error: 'a password' }).min(1, 'a password, not empty').optional(),
    toPassword: z.string({ error: 'a password' }).min(1, 'a password, not empty').optional(),
    sets: sets.optional(),
    queues: flag.optional(),
    pageSize: wholeNumber('the page size', 10_000).optional(),
    rateLimit: wholeNumber('the rate limit', MAX_RATE_LIMIT, RATE_LIMIT_AT_MOST).optional(),
    // move's (and start's) --from-replicas / --to-replicas: for a Redis whose proxy hides its replicas.
    fromReplicas: wholeNumber('the replica count', MAX_ASKED_REPLICAS).optional(),
    toReplicas: wholeNumber('the replica count', MAX_ASKED_REPLICAS).optional(),
    // drain-check's --time-limit: a check run here (not --deployed, which has its function's timeout).
    timeLimit: wholeNumber(
      'the seconds drain-check may take',
      MAX_TIME_LIMIT_SECONDS,
      `the seconds drain-check may take is at most ${MAX_TIME_LIMIT_SECONDS} (a day); give whole seconds, e.g. 600`,
    ).optional(),
    unmapped: z.enum(['leave', 'quarantine'], { error: 'leave or quarantine' }).optional(),
    append: flag.optional(),
    strict: flag.optional(),
    routing: routingSectionSchema.optional(),
    // Which classes a move carries (one of the three; store with routing's catalog and rules).
    classes: z
      .union([z.string().min(1), z.array(z.string().refine((c) => c.trim() !== '', 'a class name, not empty')).min(1, 'at least one class')], { error: 'a list of worker class names, or one comma-separated string' })
      .transform((value, ctx) => {
        // Spaces around a name are ignored, as in the comma-separated form.
        if (typeof value !== 'string') return [...new Set(value.map((c) => c.trim()))];
        const empty = emptyEntriesProblem(value, 'worker class names', 'Projects::ImportWorker,MergeWorker');
        if (empty) ctx.addIssue({ code: 'custom', message: empty });
        return commaList(value);
      })
      .optional(),
    classesFile: path('the classes file').optional(),
    store: z.string({ error: 'a store name, e.g. queues_shard_catchall_b, or main' }).regex(STORE_NAME, 'a store name, e.g. queues_shard_catchall_b, or main').optional(),
    redisYml: path("GitLab's config/redis.yml").optional(),
    aws: awsSectionSchema.optional(),
  },
  { error: 'a mapping of settings (a JSON object or YAML mapping)' },
);

/** The keys each level of the file accepts, for "did you mean" (top level under ''). */
export const CONFIG_FILE_KEYS: Readonly<Record<string, readonly string[]>> = {
  '': Object.keys(configFileSchema.shape),
  routing: Object.keys(routingSectionSchema.shape),
  aws: Object.keys(awsSectionSchema.shape),
};

/** The keys whose values are URLs that may carry a password. */
export const URL_KEYS = ['redis', 'from', 'to'] as const;

/** The keys whose values are passwords, never shown. */
export const PASSWORD_KEYS = ['password', 'fromPassword', 'toPassword'] as const;

export type ConfigFile = z.output<typeof configFileSchema>;
