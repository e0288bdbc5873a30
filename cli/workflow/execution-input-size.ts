import type { z } from 'zod';
import { ConfigError } from '../../core/config/config-error.js';
import { EARLIER_PROBLEMS, problemOf, type EarlierProblems } from '../../core/config/validate-config.js';
import { InputError } from '../../core/errors/input-error.js';
import { assertDryRunCarries } from '../../core/workflow/dry-run-carry.js';
import { resolveRoutingInput } from '../../core/workflow/resolve-routing.js';
import { serializeRouting } from '../../core/workflow/stored-routing.js';
import type { RoutingInput } from '../../core/workflow/workflow-input.js';
import { refuseNamespacedDestinations } from '../../core/workflow/namespaced-destinations.js';
import { normalizePrefix } from '../../core/redis/sidekiq-keys.js';
import { AWS_QUOTAS } from '../../infra/local/aws-quotas.js';
import { count as n } from './fit.js';

const plural = (count: number, one: string, many: string) => `${n(count)} ${count === 1 ? one : many}`;
const bytesOf = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

/**
 * Room the plan task's input needs beside the execution input: it is `{executionInput, executionArn}`
 * (infra/constructs/migration-workflow.ts), 37 bytes of JSON and an ARN of at most about 230
 * (a state machine's and an execution's names take 80 characters each), with room to spare.
 */
export const PLAN_TASK_ENVELOPE_BYTES = 512;

/** The most bytes a run's execution input may take: the plan task's input must fit in a state. */
export const MAX_EXECUTION_INPUT_BYTES = AWS_QUOTAS.stateBytes - PLAN_TASK_ENVELOPE_BYTES;

/**
 * Refuses, before anything is touched, a run whose execution input Step Functions would refuse
 * (StartExecution takes at most 256 KiB, and the plan task gets it with the execution's ARN, which
 * must fit in 256 KiB too): `start` on AWS, and `run`, `move` and `rollback` locally, where the
 * runner enforces the same limit on every state. The input's size is
 * almost all routing (a mapping of every class, or renames) or a selection's class list, so the
 * message names that part and how many entries a run could carry instead.
 */
export function checkExecutionInputSize(input: Record<string, unknown>): void {
  const bytes = bytesOf(input);
  if (bytes <= MAX_EXECUTION_INPUT_BYTES) return;
  const part = largestPart(input);
  const advice = part ? `: ${part.what}. ${part.split(perRun(part, bytes))}` : '.';
  throw new InputError(
    `The run's input would be ${n(bytes)} bytes, over the ${n(MAX_EXECUTION_INPUT_BYTES)} bytes a run's input may take (Step Functions takes ${n(AWS_QUOTAS.stateBytes)} bytes a state, and its first task gets the input with the execution's name; the local runner holds to the same limit)${advice} Nothing was touched.`,
  );
}

/**
 * An input too large (checkExecutionInputSize), or a dry run's routing and classes too large to
 * carry in its states (the plan step's assertDryRunCarries), found from the options as given
 * (validateConfigAndFiles' `refusals`), so that it is said with their other problems and before
 * anything connects: the input is built from them as the command would build it (`inputOf`), an
 * option that fails left at its default (the input's size is its routing's or its selection's,
 * almost all of it). Nothing when the routing or selection cannot be read: its files' and options'
 * problems are said already. `prefixesOf`: the run's namespaces, when the command knows them (`run`,
 * `move`; `start`'s are the deployment's): a destination written as its queue's key under one is
 * refused here too, as the plan step would only after connecting (refuseNamespacedDestinations).
 */
export function inputSizeProblems<S extends z.ZodType>(schema: S, given: Record<string, unknown>, inputOf: (options: z.output<S>) => Record<string, unknown>, prefixesOf?: (options: z.output<S>) => readonly string[]): string[] {
  let parsed = schema.safeParse(given);
  if (!parsed.success) {
    const failed = new Set(parsed.error.issues.map((issue) => issue.path[0]));
    parsed = schema.safeParse(Object.fromEntries(Object.entries(given).filter(([key]) => !failed.has(key))));
  }
  if (!parsed.success) return [];
  let input: Record<string, unknown>;
  try {
    input = inputOf(parsed.data);
  } catch (error) {
    if (error instanceof InputError) return [];
    throw error;
  }
  const prefixes = prefixesOf?.(parsed.data).map(normalizePrefix) ?? [];
  const namespaced = problemOf(() => refuseNamespacedDestinations(input['routing'] as RoutingInput | undefined, prefixes));
  const size = problemOf(() => checkExecutionInputSize(input));
  return [...namespaced, ...(size.length > 0 ? size : problemOf(() => checkDryRunCarries(input)))];
}

/**
 * What building the routing and selection from the options refuses (InputError: a --store no rule
 * names, a --classes-file mapping beside --rules, a file's problem), said with the problems
 * validation found (`validate`: validateConfigAndFiles), not in a second round once they are fixed
 * (audit-review2: inputSizeProblems says nothing of it). Alone, the command says it as before, in
 * its own words. Built from the options as the command will build them: nothing when one of
 * `reads` (what `build` reads) fails its schema or is unknown (its file entry or variable is
 * wrong), whose problem is said already and whose value would change what building says. A
 * problem said already (a file's, which building meets again) is not said twice.
 */
export function withRoutingProblems<S extends z.ZodType>(
  schema: S,
  input: Record<string, unknown>,
  validate: (input: Record<string, unknown>) => z.output<S>,
  build: (options: z.output<S>) => unknown,
  reads: readonly string[],
): z.output<S> {
  try {
    return validate(input);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const more = routingProblems(schema, input, build, reads).filter((p) => !error.problems.includes(p));
    if (more.length === 0) throw error;
    throw new ConfigError([...error.problems, ...more], 'Invalid options and files:');
  }
}

function routingProblems<S extends z.ZodType>(schema: S, input: Record<string, unknown>, build: (options: z.output<S>) => unknown, reads: readonly string[]): string[] {
  const { [EARLIER_PROBLEMS]: earlier, ...given } = input as Record<PropertyKey, unknown>;
  if ((earlier as EarlierProblems | undefined)?.unknown.some((key) => reads.includes(key))) return [];
  let parsed = schema.safeParse(given);
  if (!parsed.success) {
    const failed = new Set(parsed.error.issues.map((issue) => issue.path[0]));
    if (reads.some((key) => failed.has(key))) return [];
    parsed = schema.safeParse(Object.fromEntries(Object.entries(given).filter(([key]) => !failed.has(key))));
  }
  if (!parsed.success) return [];
  const data = parsed.data;
  return problemOf(() => build(data));
}

/** What a command's routing and selection are built from (routingKey's, routingProblems' `reads`). */
export const ROUTING_KEYS = ['catalog', 'rules', 'environment', 'strict', 'mapping', 'rename', 'classes', 'classesFile', 'store', 'cron'] as const;

/**
 * What a dry run carries in every state, as its plan step will find it (plan-step.ts planWork):
 * its routing resolved from the input, and its classes. A rollback's routing is its run's record
 * of moves, read on the Redis: it carries only which record to read again, never refused here.
 */
function checkDryRunCarries(input: Record<string, unknown>): void {
  if (input['dryRun'] !== true) return;
  const routing = input['routing'] as RoutingInput | undefined;
  if (routing?.kind === 'rollback') return;
  const classes = input['classes'] as readonly string[] | undefined;
  assertDryRunCarries({ ...(routing ? { inlineRouting: serializeRouting(resolveRoutingInput(routing)) } : {}), ...(classes ? { inlineClasses: classes } : {}) });
}

/**
 * `build`, once per key within one command: the routing the early check builds (rules over GitLab's
 * catalog take a few hundred milliseconds) serves the command afterwards. One entry, made per
 * command run: files are never read again from a cache of an earlier command.
 */
export function onceFor<A, R>(keyOf: (a: A) => string, build: (a: A) => R): (a: A) => R {
  let last: { key: string; value: R } | undefined;
  return (a) => {
    const key = keyOf(a);
    if (last?.key !== key) last = { key, value: build(a) };
    return last.value;
  };
}

/** What a command's routing and selection are built from (onceFor's key). */
export const routingKey = (o: object): string => {
  const r = o as Record<string, unknown>;
  return JSON.stringify(ROUTING_KEYS.map((k) => r[k] ?? null));
};

interface InputPart {
  readonly entries: number;
  readonly bytes: number;
  readonly what: string;
  readonly split: (perRun: number) => string;
}

function largestPart(input: Record<string, unknown>): InputPart | undefined {
  const routing = input['routing'] as { kind?: string; mapping?: object; renames?: object } | undefined;
  const parts: InputPart[] = [];
  if (routing?.mapping) {
    const entries = Object.keys(routing.mapping).length;
    parts.push({
      entries,
      bytes: bytesOf(routing.mapping),
      what: `its mapping names ${n(entries)} classes`,
      split: (perRun) =>
        `Split the mapping into runs of at most about ${plural(perRun, 'class', 'classes')} each, with --unmapped leave (the default): a run leaves the jobs of the classes it does not name where they are, and the next run moves them.`,
    });
  }
  if (routing?.renames) {
    const entries = Object.keys(routing.renames).length;
    parts.push({ entries, bytes: bytesOf(routing.renames), what: `it renames ${n(entries)} queues`, split: (perRun) => `Rename at most about ${plural(perRun, 'queue', 'queues')} a run.` });
  }
  if (Array.isArray(input['classes'])) {
    const entries = input['classes'].length;
    parts.push({ entries, bytes: bytesOf(input['classes']), what: `it selects ${n(entries)} classes`, split: (perRun) => `Select at most about ${plural(perRun, 'class', 'classes')} a run.` });
  }
  return parts.sort((a, b) => b.bytes - a.bytes)[0];
}

/** Entries of `part` that would fit beside the rest of the input, with a tenth to spare. */
function perRun(part: InputPart, totalBytes: number): number {
  const room = MAX_EXECUTION_INPUT_BYTES - (totalBytes - part.bytes);
  const fitting = Math.floor(((part.entries * room) / part.bytes) * 0.9);
  return Math.max(1, fitting >= 1000 ? Math.floor(fitting / 100) * 100 : fitting);
}
