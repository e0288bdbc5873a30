import { z } from 'zod';
import { parseRedisUrl } from '../redis/redis-url.js';
import { connectionOptionFields } from './connection-options.js';
import { despiteOptionProblems, migrationOptionFields, positiveInt, routingPathFields } from './run-options.js';
import { commaList, emptyEntriesProblem } from './comma-list.js';
import { connectionName } from './connection-name.js';
import { deployedOptionFields } from './deployed-options.js';
import { checkSelection, redisEndpoint, selectionOptionFields, STORE_NAME } from './selection-options.js';

/** The most --time-limit takes: a day. */
export const MAX_TIME_LIMIT_SECONDS = 86_400;

/**
 * `sidekiq-migrate drain-check`: one Redis (`--redis URL`), or the deployment's drain check run
 * now (`--deployed`: the function in the VPC checks its connection), optionally the previous
 * report and the retired queues.
 */
export const drainCheckOptionsSchema = z
  .strictObject({
    redis: z
      .string()
      .min(1, 'empty: give the Redis URL, e.g. redis://localhost:6379/0 or rediss://…')
      .superRefine((url, ctx) => {
        // A store name of --redis-yml is resolved once the file is read; empty is said by min().
        if (url === '' || STORE_NAME.test(url)) return;
        try {
          parseRedisUrl(url, '--redis');
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message.replace(/^--redis:? /, '') });
        }
      })
      .optional(),
    namespace: z.string().default(''),
    // Empty (`--save "$REPORT"`, the variable unset): said in words, as the other paths are.
    previous: z.string().min(1, 'a path, not empty (the JSON report --save wrote last time)').optional(),
    // Blank ('  ') would be written as a file named with blanks in the current directory.
    save: z
      .string()
      .min(1, 'a path, not empty (where to write this check as JSON)')
      .refine((path) => path === '' || path.trim() !== '', 'a path, not blank (where to write this check as JSON)')
      .optional(),
    retiredQueues: z
      .string()
      .optional()
      .superRefine((text, ctx) => {
        const problem = text === undefined || text.trim() === '' ? undefined : emptyEntriesProblem(text, 'queue names', 'mailers,default');
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .transform((s) => (s === undefined ? undefined : commaList(s)))
      // An empty list (`$(paste -sd, retired-queues.txt)` of an empty or missing file) is no scope:
      // read as "the whole Redis" it would never say DRAINED on a live instance, nor mean it.
      .refine((queues) => queues === undefined || queues.length > 0, {
        message:
          'names no queue: give the queues the routing change retires, comma-separated. A change that retires no queue leaves nothing on an old queue to wait for (leave the option out to check the whole Redis).',
      }),
    ...connectionOptionFields,
    /**
     * A move out of this Redis (its run id, as its summary printed it) and, locally, its target:
     * the check also looks at whether that target still carries the id the move found there
     * (core/drain/move-target.ts). With --deployed, the deployment's target connection.
     */
    runId: migrationOptionFields.runId,
    to: redisEndpoint('--to', 'the new Redis URL (or its store name, with --redis-yml)').optional(),
    toNamespace: z.string().optional(),
    toPassword: z.string({ error: 'the password' }).min(1, 'the password, not empty').optional(),
    toTlsCa: z.string().min(1, 'a PEM file of CA certificates').optional(),
    /**
     * Seconds a local check may take (default: the deployed check's, its function's timeout),
     * before its looks over the keyspace stop and say what they did not reach (check-budget.ts):
     * a Redis of tens of millions of keys needs more to be looked at in full.
     */
    timeLimit: positiveInt('the seconds the check may take', MAX_TIME_LIMIT_SECONDS, `at most ${MAX_TIME_LIMIT_SECONDS} seconds (a day); give whole seconds, e.g. 600`).optional(),
    json: z.boolean().default(false),
    deployed: z.boolean().default(false),
    /** With --deployed: the deployment's connection the function checks (default: the one it was deployed for). */
    connection: connectionName.optional(),
    /** With --deployed: the function, when not found through the stack's outputs. */
    function: z.string().min(1, "the drain check function's name or ARN, not empty").optional(),
    ...deployedOptionFields,
    // What is left of the selected classes (as `move` selects them).
    ...selectionOptionFields,
    ...routingPathFields,
    strict: z.boolean().default(false),
  })
  .superRefine((o, ctx) => {
    checkSelection(o, { redis: o.redis }, ctx);
    if (o.rules !== undefined && o.catalog.length === 0) ctx.addIssue({ code: 'custom', path: ['catalog'], message: "routing rules need the worker catalog (GitLab's app/workers/all_queues.yml)" });
    if (o.catalog.length > 0 && o.rules === undefined) ctx.addIssue({ code: 'custom', path: ['rules'], message: 'a catalog needs routing rules' });
    // A move's target without the move, or the move without its target: nothing to compare.
    if (!o.deployed && (o.runId === undefined) !== (o.to === undefined)) {
      ctx.addIssue({ code: 'custom', path: [o.runId === undefined ? 'runId' : 'to'], message: o.runId === undefined ? 'required with --to: the run id of the move to it (its summary printed it)' : 'required with --run-id: the Redis that move wrote to' });
    }
    for (const toOnly of ['toNamespace', 'toPassword', 'toTlsCa'] as const) {
      if (o[toOnly] !== undefined && o.to === undefined) ctx.addIssue({ code: 'custom', path: [toOnly], message: 'only with --to' });
    }
    if (o.deployed) {
      // The function reaches the Redis from inside the VPC with the deployment's settings.
      if (o.timeLimit !== undefined) ctx.addIssue({ code: 'custom', path: ['timeLimit'], message: "not with --deployed: the deployed check has its function's timeout; to look longer, run the check here with --redis and --time-limit" });
      for (const local of ['redis', 'tlsCa', 'password', 'previous', 'to'] as const) {
        if (o[local] !== undefined) ctx.addIssue({ code: 'custom', path: [local], message: 'not with --deployed: the deployed check uses its own connection and remembers its last check' });
      }
      if (o.namespace !== '') ctx.addIssue({ code: 'custom', path: ['namespace'], message: "not with --deployed: the prefix is the deployment's" });
      for (const local of ['classes', 'classesFile', 'store', 'redisYml'] as const) {
        if (o[local] !== undefined) ctx.addIssue({ code: 'custom', path: [local], message: 'not with --deployed: the deployed check reports the whole Redis' });
      }
    } else {
      if (o.redis === undefined) ctx.addIssue({ code: 'custom', path: ['redis'], message: 'required: the Redis URL to check (or --deployed)' });
      for (const deployedOnly of ['connection', 'function', 'stack', 'stateMachine', 'region'] as const) {
        if (o[deployedOnly] !== undefined) ctx.addIssue({ code: 'custom', path: [deployedOnly], message: 'only with --deployed' });
      }
    }
  }, despiteOptionProblems);
