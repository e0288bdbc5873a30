import { z } from 'zod';
import { parseRedisUrl } from '../redis/redis-url.js';
import { connectionOptionFields, transferConnectionFields } from './connection-options.js';
import { SORTED_SET_NAMES } from '../redis/sidekiq-keys.js';
import { runIdProblem } from './reserved-run-ids.js';
import { commaList, emptyEntriesProblem } from './comma-list.js';
import { gitLabSection } from './routing-options.js';
import { MAX_ASKED_REPLICAS } from '../workflow/workflow-input.js';
import { checkCronWithSelection, checkSelection, redisEndpoint, selectionOptionFields } from './selection-options.js';
import { MAX_RATE_LIMIT, RATE_LIMIT_AT_MOST } from '../transfer/rate-limiter.js';

/** A Redis URL, checked with the same parser the connection uses (its message redacts the password). */
const redisUrl = (option: string, required: string) =>
  z.string({ error: required }).min(1, required).superRefine((url, ctx) => {
    // Empty: said once, by min() (the parser's "not a URL: " would be a second message).
    if (url === '') return;
    try {
      parseRedisUrl(url, option);
    } catch (error) {
      // The parser names the option itself; the issue is shown under it already.
      ctx.addIssue({ code: 'custom', message: (error as Error).message.replace(new RegExp(`^${option}:? `), '') });
    }
  });

const sets = z
  .string()
  .default(SORTED_SET_NAMES.join(','))
  .transform((text, ctx) => {
    // '' is no set at all (queues only); an empty entry in a list is refused, said where.
    const empty = text === '' ? undefined : emptyEntriesProblem(text, 'set names', 'schedule,retry');
    if (empty) ctx.addIssue({ code: 'custom', message: empty });
    const names = commaList(text);
    const unknown = names.filter((n) => !(SORTED_SET_NAMES as readonly string[]).includes(n));
    if (unknown.length > 0) ctx.addIssue({ code: 'custom', message: `unknown set(s) ${unknown.join(', ')}; choose from ${SORTED_SET_NAMES.join(', ')}` });
    // A set named twice would be two work items on one in-flight key, their counts overwriting each other.
    return names as (typeof SORTED_SET_NAMES)[number][];
  });
/**
 * A number given as text (a flag's value): plain decimal digits only, a "-" and a fraction allowed
 * so that their own checks say what is wrong with them. Number() also took "1e3", "0x10", " 100",
 * "+5" and "" (0), which no careful user means as a page size or a count: such a text stays text,
 * and is refused naming it (`unlike`). A number (from the configuration file) passes as it is.
 */
// A fraction may leave out its 0 (`--interval .5`, as Number() took it): decimal digits too.
const PLAIN_DECIMAL = /^-?(\d+(\.\d+)?|\.\d+)$/;
export const decimalText = <S extends z.ZodType>(schema: S) =>
  z.preprocess((value) => (typeof value === 'string' && PLAIN_DECIMAL.test(value) ? Number(value) : value), schema);
// The schema's own `error` would replace every message of its checks too (a `.max()` said "must be
// a number"): it words only what is not a number, and names the text that is not.
export const notDecimal = (message: string) => ({
  error: (issue: { code: string; input?: unknown }) =>
    issue.code !== 'invalid_type' ? undefined : typeof issue.input === 'string' ? `${message} in decimal digits, not ${JSON.stringify(issue.input)}` : message,
});

/** A whole number above 0 (at most `max`, said as `atMost`), as a flag's decimal digits or a number. */
export const positiveInt = (what: string, max = Number.MAX_SAFE_INTEGER, atMost = `${what} must be at most ${max}`) =>
  decimalText(
    // One problem, the bound first: 9007199254740993 (past 2^53, read as …992) was said twice,
    // "must be a whole number" (it is one) and "must be at most 10000".
    z.number(notDecimal(`${what} must be a whole number`)).superRefine((n, ctx) => {
      const problem = n > max ? atMost : !Number.isInteger(n) ? `${what} must be a whole number` : n <= 0 ? `${what} must be positive` : undefined;
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  );

/**
 * `--from-replicas N` / `--to-replicas N`: the replicas each WAIT of a move asks for at least, for
 * a Redis behind a proxy that hides them (INFO reports none, so the move would wait for none).
 */
export const replicaCount = (option: string) => positiveInt(option, MAX_ASKED_REPLICAS);

/**
 * Empty routing paths (`--catalog "$CATALOG"` with the variable unset) said in words, as `routes`
 * says them (routing-options.ts): zod's own ("Too small: expected string to have >=1 characters")
 * named neither what is missing nor what to give.
 */
export const routingPathFields = {
  catalog: z.array(z.string().min(1, 'a catalog path cannot be empty')).default([]),
  rules: z.string().min(1, 'a rules path cannot be empty').optional(),
  environment: gitLabSection.default('production'),
};

/** Options shared by `run`, `move` and `start` (validated once, every problem reported together). */
export const migrationOptionFields = {
  ...routingPathFields,
  mapping: z.string().min(1, 'a mapping path cannot be empty').optional(),
  rename: z.array(z.string()).default([]),
  strict: z.boolean().default(false),
  sets,
  queues: z.boolean().default(true),
  namespace: z.string().default(''),
  dryRun: z.boolean().default(false),
  json: z.boolean().default(false),
  verbose: z.boolean().default(false),
  pageSize: positiveInt('the page size', 10_000).default(1000),
  runId: z
    .string()
    .superRefine((id, ctx) => {
    const problem = runIdProblem(id);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }).optional(),
  tlsCa: z.string().min(1, 'a PEM file of CA certificates, not empty').optional(),
};

/**
 * Zod skips an object's refinements (the checks across options: one routing form, --rules with
 * --catalog, what only a transfer takes…) once any option failed its own check: `--page-size 0x10
 * --rules R` said the page size, and only once it was fixed that the rules need a catalog. They
 * run despite a failure of these options, which they only compare with undefined or each other as
 * text (a failed one holds what was given): every problem in one message.
 */
const COMPARED_ONLY = new Set([
  'pageSize', 'rateLimit', 'fromReplicas', 'toReplicas', 'interval', 'timeLimit', 'limit', 'unmapped', 'environment',
  'region', 'stack', 'stateMachine', 'runId', 'resume', 'rollback', 'source', 'target', 'redis', 'from', 'to', 'namespace', 'toNamespace',
]);
export const despiteOptionProblems = {
  when: (payload: { issues: readonly { path?: readonly PropertyKey[] }[] }) => payload.issues.every((issue) => typeof issue.path?.[0] === 'string' && COMPARED_ONLY.has(issue.path[0])),
};

/** --verbose lists every set and queue in a summary's words: with --json (which names them all, and no words) it did nothing. */
export const checkVerboseWithJson = (o: { json?: boolean; verbose?: boolean }, ctx: z.RefinementCtx) => {
  if (o.json && o.verbose) ctx.addIssue({ code: 'custom', path: ['verbose'], message: 'does nothing with --json (its JSON names every set and queue already): leave --verbose or --json out' });
};

/** No set and no queue: a run (a rollback too) would look at nothing and say "Complete" over every job there. */
export const checkSomethingLookedAt = (o: { sets?: readonly string[]; queues?: boolean }, ctx: z.RefinementCtx) => {
  if (o.sets?.length === 0 && o.queues === false) ctx.addIssue({ code: 'custom', path: ['sets'], message: 'no set given and --no-queues: nothing would be looked at; name a set (schedule, retry, dead, interrupted) or leave out --no-queues' });
};

/** Exactly one way of saying where jobs go (or none, when `required` is false). */
export const oneRoutingForm = (o: { catalog: string[]; rules?: string; mapping?: string; rename: string[]; sets?: readonly string[]; queues?: boolean }, ctx: z.RefinementCtx, required: boolean) => {
  checkSomethingLookedAt(o, ctx);
  const forms = [o.rules !== undefined || o.catalog.length > 0, o.mapping !== undefined, o.rename.length > 0].filter(Boolean).length;
  if (forms > 1) ctx.addIssue({ code: 'custom', message: 'give one of --catalog/--rules, --mapping or --rename, not several' });
  if (forms === 0 && required) ctx.addIssue({ code: 'custom', message: 'say where jobs go: --catalog FILE --rules FILE, --mapping FILE, or --rename OLD=NEW' });
  if (o.rules !== undefined && o.catalog.length === 0) ctx.addIssue({ code: 'custom', path: ['catalog'], message: "routing rules need the worker catalog (GitLab's app/workers/all_queues.yml)" });
  if (o.catalog.length > 0 && o.rules === undefined) ctx.addIssue({ code: 'custom', path: ['rules'], message: 'a catalog needs routing rules' });
};

/** `sidekiq-migrate run`: re-route inside one Redis. */
export const runOptionsSchema = z
  .strictObject({
    ...migrationOptionFields,
    ...connectionOptionFields,
    redis: redisUrl('--redis', 'required: the Redis URL, e.g. redis://localhost:6379/0 or rediss://…'),
    unmapped: z.enum(['leave', 'quarantine'], { error: 'must be leave or quarantine' }).default('leave'),
    append: z.boolean().default(false),
    rewriteCron: z.boolean().default(false),
  })
  .superRefine((o, ctx) => {
    oneRoutingForm(o, ctx, true);
    checkVerboseWithJson(o, ctx);
  }, despiteOptionProblems);

/** `sidekiq-migrate move`: transfer to another Redis, re-routing on the way when asked. */
export const moveOptionsSchema = z
  .strictObject({
    ...migrationOptionFields,
    ...connectionOptionFields,
    ...transferConnectionFields,
    ...selectionOptionFields,
    from: redisEndpoint('--from', 'required: the old Redis URL (or its store name, with --redis-yml)'),
    to: redisEndpoint('--to', 'required: the new Redis URL (or its store name, with --redis-yml)'),
    toNamespace: z.string().optional(),
    rateLimit: positiveInt('the rate limit', MAX_RATE_LIMIT, RATE_LIMIT_AT_MOST).optional(),
    fromReplicas: replicaCount('the replica count').optional(),
    toReplicas: replicaCount('the replica count').optional(),
    append: z.boolean().default(false),
    cron: z.boolean().default(false),
  })
  .superRefine((o, ctx) => {
    oneRoutingForm(o, ctx, false);
    checkSelection(o, { from: o.from, to: o.to }, ctx);
    checkCronWithSelection(o, ctx);
    checkVerboseWithJson(o, ctx);
  }, despiteOptionProblems);

export type RunOptions = z.output<typeof runOptionsSchema>;
export type MoveOptions = z.output<typeof moveOptionsSchema>;
