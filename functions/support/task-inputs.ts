import { z } from 'zod';
import { validateConfig } from '../../core/config/validate-config.js';
import { SORTED_SET_NAMES } from '../../core/redis/sidekiq-keys.js';
import type { AddUpInput } from '../../core/workflow/steps/add-up-step.js';
import type { SummarizeInput } from '../../core/workflow/steps/summarize-step.js';
import type { PageInput, RunSettings } from '../../core/workflow/work-item.js';
import { withRecordedGeneration } from '../../core/workflow/run-generation.js';
import { continuationInputSchema, workflowInputSchema } from '../../core/workflow/workflow-input.js';
import type { InvocationScope } from './create-handler.js';

/**
 * Schemas of the tasks' inputs, as the state machine passes them (the plan step's output, carried
 * along). Objects are loose: they are our own output coming back, and a field added by core must
 * not break a deployed function; what the step relies on is checked.
 */
const count = z.number().int().min(0);

export const runSettingsSchema = z.looseObject({
  runId: z.string().min(1),
  mode: z.enum(['reroute', 'transfer']),
  source: z.string().min(1),
  target: z.string().min(1).optional(),
  dryRun: z.boolean(),
  pageSize: z.number().int().min(1),
  rateLimit: z.number().positive().optional(),
  unmapped: z.enum(['leave', 'quarantine']),
  placement: z.enum(['front', 'append']),
  pagesPerInvocation: z.number().int().min(1),
  maxIterations: z.number().int().min(1),
  // Read again only by a dry run's "add up" (which lists the work again); absent from settings
  // made before they were carried, and then the plan step's own defaults.
  sets: z.array(z.enum(SORTED_SET_NAMES)).default([...SORTED_SET_NAMES]),
  queues: z.boolean().default(true),
  routed: z.boolean(),
  // The execution's generation (work-item.ts): absent in settings planned by an older version,
  // which are then earlier than any start that records one (run-generation.ts withRecordedGeneration).
  plannedAt: z.number().int().optional(),
  plannedBy: z.string().min(1).optional(),
  // What the plan left of the sidekiq-cron definitions it was asked to write (the summary's log line says it).
  cronLeft: z.looseObject({ unread: count.optional(), unjudged: count.optional(), changedMeanwhile: count.optional() }).optional(),
}).transform(withRecordedGeneration);

const workItemSchema = z.looseObject({
  kind: z.enum(['set', 'queue']),
  name: z.string().min(1),
  cursor: z.unknown(),
  done: z.boolean(),
  iteration: count,
  counters: z.record(z.string(), z.unknown()),
  continues: z.string().optional(),
});

const zscanCursor = z.string().regex(/^\d+$/, 'must be a ZSCAN cursor');
/** A score as Redis replies it (`1764950400.1234567`, `1e+20`, `-inf`), the bound of a set's walk by score. */
const scoreText = z.string().regex(/^(?:[-+]?inf|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)$/, 'must be a score');
/** The mean payload size a page or slice was sized by (core/redis/page-bytes.ts). */
const bytesPerJob = z.number().min(0).optional();

/** Cursors as each page step returns them (null: not started). */
export const cursorSchemas = {
  reroute: {
    // A bare ZSCAN cursor: what runs planned before set pages were bounded by bytes carry.
    // `after` (a walk by score) and `from` (a ZSCAN after a walk): score texts (core/reroute/set-page.ts).
    set: z.union([zscanCursor, z.looseObject({ scan: zscanCursor, after: scoreText.optional(), from: scoreText.optional(), bytesPerJob })]).nullable(),
    queue: z.looseObject({ limit: count, examined: count, kept: count, bytesPerJob }).nullable(),
  },
  transfer: {
    set: z.looseObject({ limit: count, claimed: count }).nullable(),
    queue: z.looseObject({ limit: count, claimed: count }).nullable(),
  },
} as const;

const label = (path: readonly PropertyKey[]) => ['input', ...path.map(String)].join('.');

/** A page task's input, checked against the task: its mode, its kind, its cursor. */
export function parsePageInput(event: unknown, task: { readonly mode: 'reroute' | 'transfer'; readonly kind: 'set' | 'queue' }): PageInput {
  return validateConfig(pageInputSchema(task), event, label) as unknown as PageInput;
}

/**
 * The schemas of page inputs, built once per mode and kind: a run's page steps are many (a local
 * `run` of 300,000 jobs, ~60), and building the schema took most of a parse's ~0.7 ms (issue #18).
 */
const pageInputSchemas = new Map<string, z.ZodType>();
function pageInputSchema(task: { readonly mode: 'reroute' | 'transfer'; readonly kind: 'set' | 'queue' }): z.ZodType {
  const key = `${task.mode}/${task.kind}`;
  let schema = pageInputSchemas.get(key);
  if (schema === undefined) {
    schema = z
      .strictObject({ settings: runSettingsSchema, item: workItemSchema.extend({ cursor: cursorSchemas[task.mode][task.kind] }) })
      .superRefine(({ settings, item }, ctx) => {
        if (settings.mode !== task.mode) ctx.addIssue({ code: 'custom', path: ['settings', 'mode'], message: `is "${settings.mode}", but this function ${describe(task)}` });
        if (item.kind !== task.kind) ctx.addIssue({ code: 'custom', path: ['item', 'kind'], message: `is "${item.kind}", but this function ${describe(task)}` });
        if (item.kind === 'set' && !(SORTED_SET_NAMES as readonly string[]).includes(item.name)) {
          ctx.addIssue({ code: 'custom', path: ['item', 'name'], message: `must be one of ${SORTED_SET_NAMES.join(', ')}` });
        }
        if (settings.mode === 'transfer' && settings.target === undefined) ctx.addIssue({ code: 'custom', path: ['settings', 'target'], message: 'a transfer needs a target connection' });
      });
    pageInputSchemas.set(key, schema);
  }
  return schema;
}

function describe(task: { readonly mode: string; readonly kind: string }): string {
  return `${task.mode === 'reroute' ? 're-routes' : 'transfers'} ${task.kind === 'set' ? 'sorted sets' : 'queues'}`;
}

const itemResultSchema = z.looseObject({
  kind: z.enum(['set', 'queue']),
  name: z.string().min(1),
  counters: z.record(z.string(), z.unknown()).optional(),
  done: z.boolean().optional(),
  continuedIn: z.string().optional(),
  error: z.looseObject({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
});

const tallySchema = z.looseObject({
  totals: z.record(z.string(), z.unknown()),
  counts: z.looseObject({ finished: count, failed: count, continued: count }),
  listed: z.array(z.looseObject({ kind: z.enum(['set', 'queue']), name: z.string(), counters: z.record(z.string(), z.unknown()) })),
  unlisted: count,
  failures: z.array(z.looseObject({ kind: z.enum(['set', 'queue']), name: z.string(), error: z.string() })),
  continuedIn: z.array(z.looseObject({ kind: z.enum(['set', 'queue']), name: z.string(), execution: z.string() })),
});

const workStateSchema = z.looseObject({
  batch: z.array(workItemSchema),
  next: count.nullable(),
  more: z.boolean(),
  batches: count,
  continueAt: count.optional(),
  continueAs: z.string().min(1).optional(),
  tally: tallySchema,
});

/** The two states the summarize function serves, told apart by `step` in their payload. */
export const SummarizeFunctionSteps = { addUp: 'add-up', summarize: 'summarize' } as const;

export function parseSummarizeInput(event: unknown): SummarizeInput {
  const schema = z.strictObject({
    step: z.literal(SummarizeFunctionSteps.summarize).optional(),
    settings: runSettingsSchema,
    execution: z.string().min(1),
    tally: tallySchema,
    listContinuedIn: z.looseObject({ executionArn: z.string().min(1) }).nullable().optional(),
    resumed: z.record(z.string(), z.unknown()).optional(),
  });
  return validateConfig(schema, event, label) as unknown as SummarizeInput;
}

/** "Add up and list the next sets and queues": the batch's results and where the work is. */
export function parseAddUpInput(event: unknown): AddUpInput {
  const schema = z.strictObject({
    step: z.literal(SummarizeFunctionSteps.addUp),
    settings: runSettingsSchema,
    work: workStateSchema,
    results: z.array(itemResultSchema),
  });
  return validateConfig(schema, event, label) as unknown as AddUpInput;
}

/** Which of its two states the summarize function was invoked for. */
export function summarizeFunctionStep(event: unknown): (typeof SummarizeFunctionSteps)[keyof typeof SummarizeFunctionSteps] {
  return asRecord(event)?.['step'] === SummarizeFunctionSteps.addUp ? SummarizeFunctionSteps.addUp : SummarizeFunctionSteps.summarize;
}

export function parseReleaseLockInput(event: unknown): { readonly settings: RunSettings } {
  return validateConfig(z.strictObject({ settings: runSettingsSchema }), event, label) as unknown as { settings: RunSettings };
}

/** The statuses the execution-ended rule forwards: StopExecution, a timeout, a failure. */
export const ENDED_STATUSES = ['ABORTED', 'TIMED_OUT', 'FAILED'] as const;

/** What the execution-ended handler needs of a run: which Redis it locked, and whether it locked at all. */
export type EndedRun = Pick<RunSettings, 'runId' | 'mode' | 'source' | 'target' | 'dryRun' | 'plannedAt' | 'plannedBy'>;

export interface ExecutionEnded {
  readonly status: (typeof ENDED_STATUSES)[number];
  readonly executionArn: string;
  /** When it ended (epoch ms), from the event. */
  readonly endedAt?: number;
  /**
   * The run it was for; or why that is not known (then no lock of it can be held: nothing to do,
   * unless the event only lacks the input: `withoutInput`, and the run lock names this execution).
   */
  readonly run: EndedRun | { readonly unknown: string; readonly withoutInput?: true };
}

// EventBridge's "Step Functions Execution Status Change" event: only what the handler reads.
const executionStatusChangeSchema = z.looseObject({
  'detail-type': z.literal('Step Functions Execution Status Change'),
  detail: z.looseObject({
    executionArn: z.string().min(1),
    status: z.enum(ENDED_STATUSES),
    stopDate: z.number().nullish(),
    input: z.string().nullish(),
    inputDetails: z.looseObject({ included: z.boolean() }).nullish(),
  }),
});

// The run fields of a continuation's settings: our own plan step's output, carried along.
const endedRunSettingsSchema = z.looseObject({
  runId: z.string().regex(/^[A-Za-z0-9_.-]{1,80}$/),
  mode: z.enum(['reroute', 'transfer']),
  source: z.string().min(1),
  target: z.string().min(1).optional(),
  dryRun: z.boolean(),
  // When and by which execution the continued execution's run planned (work-item.ts): a later start of the run is left alone.
  plannedAt: z.number().int().optional(),
  plannedBy: z.string().min(1).optional(),
});

/**
 * An execution-ended event: its status and end, and the run read from the execution input
 * (`detail.input`, a JSON string): the initial input, read with the plan step's own schema and
 * defaults, or a continuation, whose settings name the run. An input the plan step refuses took
 * no lock. The event itself must be well-formed (InvalidInputError otherwise).
 * The execution whose plan the run is (`plannedBy`): a root execution's own ARN (the event's: a
 * redriven execution keeps its ARN), a continuation's settings name it.
 */
export function parseExecutionEndedEvent(event: unknown): ExecutionEnded {
  const { detail } = validateConfig(executionStatusChangeSchema, event, (path) => ['event', ...path.map(String)].join('.'));
  const ended = { status: detail.status, executionArn: detail.executionArn, ...(typeof detail.stopDate === 'number' ? { endedAt: detail.stopDate } : {}) };
  if (detail.inputDetails?.included === false || typeof detail.input !== 'string') {
    return { ...ended, run: { unknown: 'the event does not carry the execution input (too large for EventBridge)', withoutInput: true } };
  }
  return { ...ended, run: readEndedRun(detail.input, detail.executionArn) };
}

export function readEndedRun(json: string, executionArn: string): EndedRun | { unknown: string } {
  let input: unknown;
  try {
    input = JSON.parse(json);
  } catch {
    return { unknown: 'the execution input is not JSON: the plan step refused it, no lock was taken' };
  }
  if (asRecord(input)?.['continuation'] !== undefined) {
    const continuation = continuationInputSchema.safeParse(input);
    const settings = continuation.success ? endedRunSettingsSchema.safeParse(continuation.data.continuation.settings) : undefined;
    if (!settings?.success) return { unknown: 'a continuation input without readable run settings' };
    return pickRun(settings.data);
  }
  const initial = workflowInputSchema.safeParse(input);
  if (!initial.success) return { unknown: 'an execution input the plan step refuses: no lock was taken' };
  // A root execution: its plan, if it got that far, named this very execution in the lock.
  return pickRun({ ...initial.data, plannedBy: executionArn });
}

function pickRun(run: EndedRun): EndedRun {
  return {
    runId: run.runId,
    mode: run.mode,
    source: run.source,
    dryRun: run.dryRun,
    ...(run.target !== undefined ? { target: run.target } : {}),
    ...(run.plannedAt !== undefined ? { plannedAt: run.plannedAt } : {}),
    ...(run.plannedBy !== undefined ? { plannedBy: run.plannedBy } : {}),
  };
}

/**
 * The plan task's input: the execution input and the execution's ARN (`$$.Execution.Id`), as the
 * state machine passes them; or the execution input alone, as a definition from before it was
 * named passes it (an execution started before a deployment, redriven). The execution input is
 * checked by the plan step (strict: it never has these two fields itself).
 */
export function parsePlanEvent(event: unknown): { readonly input: unknown; readonly execution: { readonly executionArn?: string } } {
  const e = asRecord(event);
  if (e === undefined || !('executionInput' in e)) return { input: event, execution: {} };
  const { executionInput, executionArn } = validateConfig(z.strictObject({ executionInput: z.unknown(), executionArn: z.string().min(1) }), event, label);
  return { input: executionInput, execution: { executionArn } };
}

/** The scope of an execution-ended event: the run in its `detail.input`, read without trusting it. */
export function scopeOfExecutionEnded(event: unknown): InvocationScope {
  const input = asRecord(asRecord(event)?.['detail'])?.['input'];
  if (typeof input !== 'string') return {};
  const { runId, mode } = scopeOfSettings(JSON.parse(input));
  return { runId, mode };
}

/** The scope of any task whose event carries `settings` (and maybe `item`), read without trusting it. */
export function scopeOfSettings(event: unknown): InvocationScope {
  const wrapped = asRecord(event);
  // The plan task's input wraps the execution input (parsePlanEvent).
  const e = wrapped && 'executionInput' in wrapped ? asRecord(wrapped['executionInput']) : wrapped;
  const settings = asRecord(e?.['settings'] ?? asRecord(e?.['continuation'])?.['settings']);
  const item = asRecord(e?.['item'] ?? asRecord(e?.['continuation'])?.['item']);
  return {
    runId: str(settings?.['runId'] ?? e?.['runId']),
    mode: str(settings?.['mode'] ?? e?.['mode']),
    itemKind: str(item?.['kind']),
    itemName: str(item?.['name']),
  };
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
