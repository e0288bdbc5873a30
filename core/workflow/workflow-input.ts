import { z } from 'zod';
import { SORTED_SET_NAMES } from '../redis/sidekiq-keys.js';
import { reservedRunIdProblem } from '../config/reserved-run-ids.js';
import { MAX_RATE_LIMIT, RATE_LIMIT_AT_MOST } from '../transfer/rate-limiter.js';

/**
 * The most loops of one work item in one execution. A loop is at most 69 history events (a
 * Choice 2, the page task 5 plus 3 per retry — 20 retries at most: 6 of RetryableError, 6 of
 * Lambda's service errors, 8 of Lambda's throttling — and a Choice 2); with the item's start and
 * its hand-over to a new execution (retried 8 times at most), 360 loops are 24,873 events at most
 * (test/workflow/local-quotas.test.ts runs one), below Step Functions' 25,000 per execution.
 */
export const MAX_ITERATIONS = 360;

/** The most replicas `--from-replicas`/`--to-replicas` may ask for: more than any managed Redis offers. */
export const MAX_ASKED_REPLICAS = 100;
const replicaCount = z.number().int().min(1).max(MAX_ASKED_REPLICAS);

const runId = z.string().regex(/^[A-Za-z0-9_.-]{1,80}$/, 'use 1–80 letters, digits, "_", "." or "-"');
/** The id of a run this execution runs (not the one a rollback names: a run of before may still be rolled back). */
const ownRunId = runId.superRefine((id, ctx) => {
  const problem = reservedRunIdProblem(id);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/**
 * Where jobs go, as an execution input. The plan step turns any form into a class mapping,
 * renames or a reverse plan once, and stores that where the page steps read it. The rules form
 * carries the worker catalog's YAML (GitLab CE's is 170 KB; with EE's it would pass the 256 KB
 * input limit, so the CLI resolves rules and catalog files to a mapping before it starts an
 * execution). `rollback` puts the jobs an earlier re-route run `of` moved back where they were,
 * from the moves that run recorded on the source.
 */
export const routingInputSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('rules'), rules: z.unknown(), catalogYaml: z.string().min(1) }),
  z.strictObject({
    kind: z.literal('mapping'),
    mapping: z.record(z.string().min(1), z.string().min(1)),
    /** Queues still routed to (GitLab: mailers, default, rule destinations): never emptied by `unmapped: quarantine`. */
    liveQueues: z.array(z.string().min(1)).optional(),
  }),
  z.strictObject({ kind: z.literal('renames'), renames: z.record(z.string().min(1), z.string().min(1)) }),
  z.strictObject({ kind: z.literal('rollback'), of: runId }),
]);

/**
 * The input of one execution of the migration state machine, validated once by the plan step
 * (strict: a misspelt option fails, and every problem is reported together).
 */
export const workflowInputSchema = z
  .strictObject({
    runId: ownRunId,
    mode: z.enum(['reroute', 'transfer']),
    /** Connection names; the deployment (or the local runner) says what they point at. */
    source: z.string().min(1).default('source'),
    target: z.string().min(1).optional(),
    routing: routingInputSchema.optional(),
    /**
     * A transfer of these classes' jobs only (the class routing sees: `class`, or ActiveJob's
     * `wrapped`); every other job stays where it is. Absent: every job.
     */
    classes: z.array(z.string().min(1)).min(1, 'at least one class').optional(),
    sets: z.array(z.enum(SORTED_SET_NAMES)).default([...SORTED_SET_NAMES]),
    queues: z.boolean().default(true),
    dryRun: z.boolean().default(false),
    /** ZSCAN COUNT, jobs per queue slice, jobs per transfer claim. */
    pageSize: z.number().int().min(1).max(10_000).default(1000),
    /** Jobs per second per work item, for a transfer from a busy source. */
    rateLimit: z.number().positive().max(MAX_RATE_LIMIT, RATE_LIMIT_AT_MOST).optional(),
    unmapped: z.enum(['leave', 'quarantine']).default('leave'),
    placement: z.enum(['front', 'append']).default('front'),
    /** Pages one page task does before it returns (bounded by its time budget too). */
    pagesPerInvocation: z.number().int().min(1).max(10_000).default(50),
    /**
     * Loop iterations per work item before it continues in a new execution: at most
     * MAX_ITERATIONS, so that an item's history stays below 25,000 events even when every page
     * is retried as often as the definition allows (docs/state-machine.md).
     */
    maxIterations: z.number().int().min(1).max(MAX_ITERATIONS).default(MAX_ITERATIONS),
    /** sidekiq-cron definitions: name them (report), rewrite their queue (re-route), or copy them to the target (transfer). */
    cron: z.enum(['report', 'rewrite', 'carry']).default('report'),
    /**
     * A transfer's WAITs on the source / target ask for at least this many replicas: for a Redis
     * behind a proxy that hides its replicas (INFO reports none, so no WAIT would be sent).
     */
    fromReplicas: replicaCount.optional(),
    toReplicas: replicaCount.optional(),
    /**
     * The `start` command that asked for this execution: a random id, one per command (its retries
     * of the same call send the same). Step Functions answers a StartExecution that names an open
     * execution with the same input by that execution, starting nothing; this id makes each
     * command's input its own, so a name already taken is refused (ExecutionAlreadyExists) and
     * `start` never reports as started an execution that another command started. Nothing reads it.
     */
    startRequest: z.string().regex(/^[0-9a-f-]{1,64}$/, 'a start request id: hex digits and "-"').optional(),
  })
  .superRefine((input, ctx) => {
    // Two items of one set would share its in-flight key, and their counts would overwrite each other.
    if (new Set(input.sets).size !== input.sets.length) ctx.addIssue({ code: 'custom', path: ['sets'], message: 'a set is named twice' });
    if (input.mode === 'transfer' && input.target === undefined) {
      ctx.addIssue({ code: 'custom', path: ['target'], message: 'a transfer needs a target connection' });
    }
    if (input.mode === 'transfer' && input.target === input.source) {
      ctx.addIssue({ code: 'custom', path: ['target'], message: `a transfer needs two connections: source and target are both "${input.source}"` });
    }
    if (input.mode === 'reroute' && input.routing === undefined) {
      ctx.addIssue({ code: 'custom', path: ['routing'], message: 'a re-route needs routing: rules and a catalog, a mapping, renames, or the run to roll back' });
    }
    if (input.cron === 'rewrite' && input.mode !== 'reroute') {
      ctx.addIssue({ code: 'custom', path: ['cron'], message: 'rewrite is for a re-route (a transfer can carry the definitions: carry)' });
    }
    if (input.cron === 'carry' && input.mode !== 'transfer') {
      ctx.addIssue({ code: 'custom', path: ['cron'], message: 'carry is for a transfer (a re-route can rewrite their queue: rewrite)' });
    }
    if (input.cron === 'carry' && input.classes !== undefined) {
      // The CLI refuses --cron with a selection (selection-input.ts); an execution started another way is refused here.
      ctx.addIssue({ code: 'custom', path: ['cron'], message: 'carry copies every sidekiq-cron definition of the source, not only the selected classes: with classes, each schedule would push from both Redis servers (leave the definitions where they are: report)' });
    }
    if (input.classes !== undefined && input.mode !== 'transfer') {
      ctx.addIssue({ code: 'custom', path: ['classes'], message: 'a selection of classes is for a transfer (a re-route moves what its routing says)' });
    }
    for (const key of ['fromReplicas', 'toReplicas'] as const) {
      if (input[key] !== undefined && input.mode !== 'transfer') ctx.addIssue({ code: 'custom', path: [key], message: 'replicas are waited for by a transfer only (a re-route is one Lua call at a time)' });
    }
    if (input.mode === 'transfer' && input.routing?.kind === 'rollback') {
      // A transfer records no moves, and the jobs a rollback puts back live on one Redis.
      ctx.addIssue({ code: 'custom', path: ['routing'], message: 'a rollback re-routes inside one Redis: use mode reroute' });
    }
  });

export type WorkflowInput = z.output<typeof workflowInputSchema>;
export type RoutingInput = z.output<typeof routingInputSchema>;

/**
 * The input of an execution that continues an earlier execution of the same run (continue-as-new,
 * before the 25,000-event history limit): the run's settings and either one work item, cursor and
 * counters included, exactly as the earlier execution had them, or the position in the run's list
 * of sets and queues from which the rest of the list goes on.
 */
export const continuationInputSchema = z.strictObject({
  continuation: z
    .strictObject({
      settings: z.record(z.string(), z.unknown()),
      item: z.record(z.string(), z.unknown()).optional(),
      list: z.strictObject({ next: z.number().int().min(0) }).optional(),
      /** The execution being continued. */
      from: z.string().optional(),
    })
    .refine((c) => (c.item === undefined) !== (c.list === undefined), { message: 'a continuation carries either an item or a list position' }),
});
export type ContinuationInput = z.output<typeof continuationInputSchema>;
