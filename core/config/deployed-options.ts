import { z } from 'zod';
import { connectionName } from './connection-name.js';
import { selectionConflicts } from '../selection/selection-conflicts.js';
import { checkSomethingLookedAt, checkVerboseWithJson, decimalText, despiteOptionProblems, migrationOptionFields, notDecimal, oneRoutingForm, positiveInt, replicaCount } from './run-options.js';
import { checkCronWithSelection, selectionOptionFields } from './selection-options.js';
import { reservedRunIdProblem } from './reserved-run-ids.js';
import { MAX_RATE_LIMIT, RATE_LIMIT_AT_MOST } from '../transfer/rate-limiter.js';

/** Where the deployed state machine is: `--state-machine ARN`, or the stack whose outputs name it. */
export const deployedOptionFields = {
  stateMachine: z.string().min(1, 'the state machine ARN, not empty').optional(),
  stack: z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'a CloudFormation stack name: letters, digits and "-", starting with a letter').optional(),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as eu-west-1').optional(),
};

/**
 * Seconds between polls of a watched execution (fractions allowed). Zero is refused: polling
 * without a pause would spend the account's Step Functions quota (tests inject their sleep).
 * Absent when not given (the commands poll every DEFAULT_INTERVAL_SECONDS): given where it does
 * nothing (`start` without --watch, `stop --no-wait`), it is refused rather than ignored.
 */
export const DEFAULT_INTERVAL_SECONDS = 5;
const interval = decimalText(
  z
    .number(notDecimal('the interval must be a number of seconds'))
    .positive('the interval must be more than 0 seconds')
    .max(3600, 'the interval must be at most 3600 seconds'),
).optional();

/**
 * A run id that names a Step Functions execution: only 0-9A-Za-z-_ (what Step Functions asks for
 * CloudWatch logging), and short enough for `-resume-N` to be added within 80 characters.
 */
const executionRunId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,70}$/, 'use 1–70 letters, digits, "_" or "-" (it names the Step Functions execution)')
  .superRefine((id, ctx) => {
    const problem = reservedRunIdProblem(id);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

// connectionName: the rule for connection names, shared with the CDK app (connection-name.ts).

// Namespaces and TLS belong to the deployment's connections (SIDEKIQ_MIGRATE_<NAME>_PREFIX…), not to an execution.
const { namespace: _namespace, tlsCa: _tlsCa, ...executionFields } = migrationOptionFields;
// Store names of redis.yml name Redis servers: the deployment's connections do that for an execution.
const { redisYml: _redisYml, ...classChoiceFields } = selectionOptionFields;

/** `sidekiq-migrate start`: an execution of the deployed state machine, with `run`/`move`'s routing and selection. */
export const startOptionsSchema = z
  .strictObject({
    ...executionFields,
    /** A transfer of these classes' jobs only, resolved here to the class list (and routing) the execution gets. */
    ...classChoiceFields,
    runId: executionRunId.optional(),
    ...deployedOptionFields,
    mode: z.enum(['reroute', 'transfer'], { error: 'must be reroute (like run) or transfer (like move)' }).default('reroute'),
    source: connectionName.default('source'),
    target: connectionName.default('target'),
    unmapped: z.enum(['leave', 'quarantine'], { error: 'must be leave or quarantine' }).default('leave'),
    append: z.boolean().default(false),
    rateLimit: positiveInt('the rate limit', MAX_RATE_LIMIT, RATE_LIMIT_AT_MOST).optional(),
    /** A transfer's WAITs ask for at least this many replicas of the source / target (a proxy hiding them). */
    fromReplicas: replicaCount('the replica count').optional(),
    toReplicas: replicaCount('the replica count').optional(),
    /** sidekiq-cron definitions: rewrite their queue (reroute), or copy them to the target (transfer). */
    rewriteCron: z.boolean().default(false),
    cron: z.boolean().default(false),
    /** Resume this stopped or failed run: same run id, in a new execution (names are single-use). */
    resume: executionRunId.optional(),
    /** Put back the jobs of this earlier re-route run (its recorded moves are the routing). */
    rollback: z.string().regex(/^[A-Za-z0-9_.-]{1,80}$/, 'the run id of the re-route to roll back').optional(),
    watch: z.boolean().default(false),
    interval,
  })
  .superRefine((o, ctx) => {
    if (o.rollback === undefined) oneRoutingForm(o, ctx, o.mode === 'reroute');
    else {
      // oneRoutingForm's check, which a rollback skips with the routing: it looked at nothing.
      checkSomethingLookedAt(o, ctx);
      if (o.rules !== undefined || o.catalog.length > 0 || o.mapping !== undefined || o.rename.length > 0) {
        ctx.addIssue({ code: 'custom', path: ['rollback'], message: 'a rollback takes its routing from the run it rolls back: no --catalog, --rules, --mapping or --rename' });
      }
    }
    for (const problem of selectionConflicts(o)) ctx.addIssue({ code: 'custom', path: [problem.option], message: problem.message });
    const selection = o.classes !== undefined ? 'classes' : o.classesFile !== undefined ? 'classesFile' : o.store !== undefined ? 'store' : undefined;
    if (selection && (o.mode !== 'transfer' || o.rollback !== undefined)) ctx.addIssue({ code: 'custom', path: [selection], message: 'a selection of classes is for a transfer (--mode transfer): a re-route moves what its routing says' });
    if (o.resume !== undefined && o.runId !== undefined) ctx.addIssue({ code: 'custom', path: ['resume'], message: '--resume names the run: not with --run-id' });
    // Its own moves would land in the record it reads: the plan refuses it (resolve-routing.ts), only once the execution started.
    if (o.rollback !== undefined && (o.runId ?? o.resume) === o.rollback) ctx.addIssue({ code: 'custom', path: [o.runId !== undefined ? 'runId' : 'resume'], message: `a rollback needs a run id of its own: ${o.rollback} is the run it rolls back` });
    if (o.rollback !== undefined && o.mode !== 'reroute') ctx.addIssue({ code: 'custom', path: ['rollback'], message: 'a rollback re-routes inside one Redis: not with --mode transfer' });
    // Its plan step would refuse it (assertDistinctEnds) only after `start` said "Started".
    if (o.mode === 'transfer' && o.source === o.target) ctx.addIssue({ code: 'custom', path: ['target'], message: `a transfer needs two connections: source and target are both "${o.target}"` });
    if (o.rateLimit !== undefined && o.mode !== 'transfer') ctx.addIssue({ code: 'custom', path: ['rateLimit'], message: 'only a transfer (--mode transfer) is rate limited' });
    for (const key of ['fromReplicas', 'toReplicas'] as const) {
      if (o[key] !== undefined && o.mode !== 'transfer') ctx.addIssue({ code: 'custom', path: [key], message: 'only a transfer (--mode transfer) waits for replicas' });
    }
    if (o.rewriteCron && (o.mode !== 'reroute' || o.rollback !== undefined)) ctx.addIssue({ code: 'custom', path: ['rewriteCron'], message: 'only a re-route (not a rollback) rewrites cron definitions; a transfer copies them with --cron' });
    if (o.cron && o.mode !== 'transfer') ctx.addIssue({ code: 'custom', path: ['cron'], message: 'only a transfer (--mode transfer) copies cron definitions; a re-route rewrites them with --rewrite-cron' });
    else checkCronWithSelection(o, ctx);
    // Without --watch nothing is polled nor summarised: silently ignored, they looked taken.
    if (!o.watch && o.interval !== undefined) ctx.addIssue({ code: 'custom', path: ['interval'], message: 'only applies with --watch (seconds between its polls): add --watch, or leave --interval out' });
    if (!o.watch && o.verbose) ctx.addIssue({ code: 'custom', path: ['verbose'], message: 'only applies with --watch (the summary it prints at the end): add --watch, or leave --verbose out' });
    else checkVerboseWithJson(o, ctx);
  }, despiteOptionProblems);

/** `watch`, `status`, `stop`: one execution. */
export const executionOptionsSchema = z
  .strictObject({
    ...deployedOptionFields,
    json: z.boolean().default(false),
    verbose: z.boolean().default(false),
    interval,
    wait: z.boolean().default(true),
  })
  .superRefine((o, ctx) => {
    // `stop --no-wait` returns once the stop requests are sent: it polls nothing.
    if (!o.wait && o.interval !== undefined) ctx.addIssue({ code: 'custom', path: ['interval'], message: 'only applies while stop waits for the executions to end: not with --no-wait' });
    checkVerboseWithJson(o, ctx);
  }, despiteOptionProblems);

/** `list`: recent executions. */
export const listOptionsSchema = z.strictObject({
  ...deployedOptionFields,
  json: z.boolean().default(false),
  limit: positiveInt('the limit', 100).default(10),
});

export type StartOptions = z.output<typeof startOptionsSchema>;
export type ExecutionOptions = z.output<typeof executionOptionsSchema>;
export type ListOptions = z.output<typeof listOptionsSchema>;
