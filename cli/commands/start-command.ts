import { randomUUID } from 'node:crypto';
import type { DescribeExecutionCommandOutput } from '@aws-sdk/client-sfn';
import type { Command } from 'commander';
import { DEFAULT_INTERVAL_SECONDS, startOptionsSchema, type StartOptions } from '../../core/config/deployed-options.js';
import { validateConfigAndFiles } from '../../core/config/validate-config.js';
import { InputError } from '../../core/errors/input-error.js';
import type { CliContext } from '../cli-context.js';
import { optionsWithConfig } from '../config/options-with-config.js';
import { stepFunctionsFor } from '../deployed/deployed-context.js';
import { ExecutionTracker } from '../deployed/execution-tracker.js';
import { consoleLink, executionArnOf, findStateMachine } from '../deployed/find-state-machine.js';
import { MAX_RUN_EXECUTIONS, newestExecutionOfRun, resumedExecutionName } from '../deployed/resumed-executions.js';
import { runningExecutionsOfRun, type RunExecutionKind, type RunningExecution } from '../deployed/running-executions.js';
import type { StepFunctions } from '../deployed/step-functions.js';
import { exitCodeOf, watchExecution } from '../deployed/watch-execution.js';
import { newRunId } from '../workflow/choose-run-id.js';
import { checkExecutionInputSize, inputSizeProblems, ROUTING_KEYS, withRoutingProblems } from '../workflow/execution-input-size.js';
import { queueOnlyOptions, stateMachineUnused, typedOptions } from '../workflow/ignored-options.js';
import { hasSelection, resolveClassSelection } from '../../core/selection/resolve-selection.js';
import { environmentGivenBy, fileProblemsOf, flagsWithoutRules, routingInputFromFlags } from '../workflow/routing-input.js';
import { routingInputOfPlan, refuseCronWithSelection } from '../workflow/selection-input.js';
import { migrationInput } from '../workflow/migration-input.js';
import { addClassChoiceOptions, addDeployedOptions, addRoutingOptions, addSelectionOptions } from './run-options.js';

/** Step Functions' limit on an execution input (the CLI resolves rules to a mapping to stay under it). */

export function registerStartCommand(program: Command, ctx: CliContext): void {
  addDeployedOptions(
    addClassChoiceOptions(addSelectionOptions(
      addRoutingOptions(
        program
          .command('start')
          .summary('start a migration on the deployed state machine (AWS Step Functions)')
          .description(
            "Starts an execution of the deployed migration state machine with the same routing and selection as `run` (--mode reroute, the default) or `move` (--mode transfer). The deployment's connections (source, target) say which Redis; routing rules and catalogs are resolved here into a class mapping, and a selection (--classes, --classes-file, --store) into the list of classes a transfer carries. The execution is named after the run id. Prints its ARN and console link; --watch follows it to the end.",
          )
          .option('--mode <mode>', 'reroute (like run) or transfer (like move)'),
      ),
    ))
      .option('--source <name>', "the deployment's connection to migrate from (default: source)")
      .option('--target <name>', "transfer: the deployment's connection to transfer to (default: target)")
      .option('--resume <run>', 'resume this stopped or failed run (same run id, a new execution named RUN-resume-2, RUN-resume-3…; refused while any execution of the run still runs, the executions it continued in included): give it the same routing and selection')
      .option('--rollback <run>', 'put the jobs of this earlier re-route run back on the queues it took them from (instead of routing flags)')
      .option('--unmapped <what>', 'reroute: queued jobs with no destination: leave (default) or quarantine (set entries always stay: not with --no-queues)')
      .option('--rate-limit <jobs/s>', 'transfer: move at most this many jobs per second per set or queue')
      .option('--from-replicas <n>', 'transfer: wait for at least N replicas of the source after each claim (for a proxy that hides its replicas from INFO)')
      .option('--to-replicas <n>', 'transfer: wait for at least N replicas of the target after each copy (for a proxy that hides its replicas from INFO)')
      .option('--rewrite-cron', 'reroute: also rewrite the queue of sidekiq-cron definitions whose class now belongs elsewhere')
      .option('--cron', 'transfer: also copy sidekiq-cron definitions to the target (never overwriting one it has)')
      .option('--watch', 'follow the execution to its end (as `watch`), and exit as `watch` does')
      .option('--interval <seconds>', 'with --watch: seconds between polls (default: 5)')
      .option('--json', 'print the execution as one JSON object (and, with --watch, one object per update)')
      .option('--verbose', 'with --watch: list every set and queue the summary names, not only the largest'),
  ).action(async (raw: Record<string, unknown>, command: Command) => {
    const completed = optionsWithConfig(command, raw);
    const environmentGiven = environmentGivenBy(command, completed);
    const options = withRoutingProblems(startOptionsSchema, completed, (input) => validateConfigAndFiles(startOptionsSchema, input, fileProblemsOf, (given) => [
      ...flagsWithoutRules(raw, given),
      ...modeOnlyOptions(typedOptions(command), given),
      ...stateMachineUnused(typedOptions(command), given),
      ...inputSizeRefusal(given, ctx, environmentGiven),
      // Then what building the input refuses (a --store no rule names), said with these: withRoutingProblems.
    ]), (options) => executionInput({ ...options, environmentGiven }, { io: { ...ctx.io, err: () => {} }, now: ctx.now }), [...ROUTING_KEYS, 'mode', 'rollback']);
    const { input, selected } = executionInput({ ...options, environmentGiven }, ctx);
    checkExecutionInputSize(input);
    const stateMachineArn = await findStateMachine(options);
    const sfn = stepFunctionsFor(ctx, options);
    if (options.resume) await refuseResumeWhileRunning(sfn, stateMachineArn, input.runId, ctx.io);
    const { executionArn } = options.resume ? await startResumed(sfn, stateMachineArn, input) : await startOrExplain(sfn, stateMachineArn, input);
    if (options.resume) await noteOtherStarts(sfn, stateMachineArn, input.runId, executionArn, ctx.io);
    const started = { executionArn, runId: input.runId, mode: input.mode, dryRun: input.dryRun, ...(input.classes ? { classes: input.classes.length } : {}), console: consoleLink(executionArn) };
    if (options.json) ctx.io.out(`${JSON.stringify({ type: 'started', ...started })}\n`);
    else {
      ctx.io.out(`Started ${options.rollback ? `rollback of ${options.rollback}:` : input.mode === 'reroute' ? 're-route' : 'transfer'} run ${input.runId}${input.dryRun ? ' (DRY RUN: writes nothing)' : ''}\n`);
      if (selected) ctx.io.out(`  carries    only the jobs of ${selected}\n`);
      ctx.io.out(`  execution  ${executionArn}\n  console    ${started.console}\n`);
      if (!options.watch) ctx.io.out(`Follow it with: sidekiq-migrate watch ${executionArn}\n`);
    }
    if (!options.watch) return;
    const progress = await watchExecution(new ExecutionTracker(sfn, executionArn), { io: ctx.io, json: options.json, verbose: options.verbose, intervalMs: (options.interval ?? DEFAULT_INTERVAL_SECONDS) * 1000, sleep: ctx.sleep, now: ctx.now });
    ctx.exitCode = exitCodeOf(progress);
  });
}

async function startOrExplain(sfn: StepFunctions, stateMachineArn: string, input: { runId: string }) {
  try {
    return await sfn.start(stateMachineArn, input.runId, input);
  } catch (error) {
    if ((error as { cause?: { name?: string } }).cause?.name !== 'ExecutionAlreadyExists') throw error;
    throw new InputError(await nameTakenAdvice(sfn, stateMachineArn, input.runId), { cause: error });
  }
}

type ExecutionStatus = DescribeExecutionCommandOutput['status'];

/**
 * What the run's executions are doing: the first (named after the run id), the run's newest
 * (RUN-resume-N), and every execution of the run still running (its continuations included).
 */
type RunState =
  | { readonly kind: 'running'; readonly firstStatus: ExecutionStatus; readonly running: readonly RunningExecution[] }
  | { readonly kind: 'ended'; readonly firstStatus: ExecutionStatus; readonly newest?: { readonly name: string; readonly status: ExecutionStatus } }
  | { readonly kind: 'unknown'; readonly why: string; readonly missing: boolean };

/**
 * Looks at run `runId`'s executions (DescribeExecution of the one named after it; the run's
 * executions still running, runningExecutionsOfRun; then its newest RUN-resume-N): still running,
 * or ended. When a call is not allowed (or fails, or there is no execution of that name:
 * `missing`), why it is unknown.
 */
async function runState(sfn: StepFunctions, stateMachineArn: string, runId: string): Promise<RunState> {
  const firstArn = executionArnOf(runId, stateMachineArn);
  try {
    const first = await sfn.describe(firstArn);
    const running = await runningExecutionsOfRun(sfn, stateMachineArn, runId);
    if (running.length > 0) return { kind: 'running', firstStatus: first.status, running };
    const newestArn = await newestExecutionOfRun(sfn, firstArn);
    if (newestArn === firstArn) return { kind: 'ended', firstStatus: first.status };
    const newest = await sfn.describe(newestArn);
    const newestName = newestArn.split(':').at(-1)!;
    return { kind: 'ended', firstStatus: first.status, newest: { name: newestName, status: newest.status } };
  } catch (error) {
    return unknownState(error);
  }
}

/** Why a look at a run's executions failed (a Step Functions call refused, or failing). */
function unknownState(error: unknown): Extract<RunState, { kind: 'unknown' }> {
  const cause = (error as { cause?: { name?: string; message?: string } }).cause;
  const api = /^Listing /.test((error as Error).message) ? 'ListExecutions' : 'DescribeExecution';
  const why = cause?.name === 'AccessDeniedException' || cause?.name === 'AccessDenied'
    ? `this role may not call states:${api} (${cause.name}; the stack's OperatorPolicyArn policy allows it)`
    : `describing it failed (${(error as Error).message})`;
  return { kind: 'unknown', why, missing: cause?.name === 'ExecutionDoesNotExist' };
}

/** The running executions of a run, by name, for a message: at most 10, then how many more. */
function namesOf(running: readonly RunningExecution[]): string {
  const shown = running.slice(0, 10).map((e) => e.name).join(', ');
  return running.length > 10 ? `${shown} and ${running.length - 10} more (sidekiq-migrate list)` : shown;
}

/**
 * What to do when the run id already names an execution, from what the run's executions are
 * doing: one still running (the first, a RUN-resume-N, or a continuation any of them started) is
 * followed or stopped, never resumed (a resume would start a second execution of a run that runs,
 * which the later plan then supersedes); an ended one may be resumed. When DescribeExecution is
 * not allowed (or fails), the advice without the status, and a note saying what to do if it still runs.
 */
async function nameTakenAdvice(sfn: StepFunctions, stateMachineArn: string, runId: string): Promise<string> {
  const taken = `An execution named ${runId} already exists on ${stateMachineArn}`;
  const resume = `Give another --run-id, or resume that run with --resume ${runId}.`;
  const follow = `Follow it with: sidekiq-migrate watch ${runId}, or stop it with: sidekiq-migrate stop ${runId} (resuming a run that still runs would start a second execution of it). To start another run, give another --run-id.`;
  const state = await runState(sfn, stateMachineArn, runId);
  switch (state.kind) {
    case 'running': {
      if (state.firstStatus === 'RUNNING') return `${taken} and is still running (run ${runId} is not over). ${follow}`;
      const [one] = state.running;
      if (state.running.length === 1 && one!.kind === 'start') return `${taken}; it ended ${state.firstStatus}, and run ${runId} goes on in execution ${one!.name}, still running. ${follow}`;
      const them = state.running.length === 1 ? `execution ${one!.name}` : `${state.running.length} executions, ${namesOf(state.running)}`;
      return (
        `${taken}; it ended ${state.firstStatus}, and run ${runId} goes on in ${them}, still running. ` +
        `Wait for the run to end, or stop ${state.running.length === 1 ? 'it' : 'each'} with: ${state.running.map((e) => `sidekiq-migrate stop ${e.name}`).join('; ')} (resuming a run that still runs would start a second execution of it). To start another run, give another --run-id.`
      );
    }
    case 'ended':
      return state.newest
        ? `${taken} (names stay taken for 90 days); it ended ${state.firstStatus}, and the run's newest execution, ${state.newest.name}, ended ${state.newest.status}. ${resume}`
        : `${taken} (names stay taken for 90 days); it ended ${state.firstStatus}. ${resume}`;
    case 'unknown':
      return (
        `${taken} (names stay taken for 90 days). ${resume}\n` +
        `Note: whether it still runs is unknown: ${state.why}. If it still runs, follow it with: sidekiq-migrate watch ${runId}, or stop it with: sidekiq-migrate stop ${runId}; do not resume it (a second execution of a run that runs).`
      );
  }
}

/** What a continuation carries on, for the refusal. */
const CARRIES: Record<Exclude<RunExecutionKind, 'start'>, string> = { item: 'a set or queue of the run', list: "the rest of the run's list" };

/**
 * Before `start --resume RUN` starts anything: refuses (exit 2, nothing started) while any
 * execution of the run still runs — RUN, a RUN-resume-N, or a continuation any of them started
 * (an item's, the list's), which goes on after the execution that started it ended — naming each
 * and saying to wait for it or stop it, then resume. A resume beside them would not lose or
 * duplicate a job (its later plan supersedes them: their tasks move nothing more), but it is a
 * second execution of a run that runs, and they end "Not complete here". When that cannot be
 * looked at (ListExecutions or DescribeExecution refused, or failing), the resume starts as asked,
 * with a note saying it could not check. This look and the start are two calls: a start of the
 * run in between (another operator's resume) is not seen here; the run lock settles it, the later
 * plan carrying the run on and the earlier one moving nothing more; the command says so once it
 * started (noteOtherStarts, test/unit/cli/start-resume-race.test.ts).
 */
async function refuseResumeWhileRunning(sfn: StepFunctions, stateMachineArn: string, runId: string, io: CliContext['io']): Promise<void> {
  let running: RunningExecution[];
  try {
    running = await runningExecutionsOfRun(sfn, stateMachineArn, runId);
  } catch (error) {
    const state = unknownState(error);
    io.err(`Note: could not check that run ${runId} had ended before resuming it: ${state.why}. If it still runs, this is a second execution of it: sidekiq-migrate list shows the run's executions.\n`);
    return;
  }
  const refused = `nothing started (--resume now would start a second execution of a run that runs)`;
  const [one] = running;
  if (!one) return;
  if (running.length === 1 && one.kind === 'start') {
    throw new InputError(`Run ${runId} is still running, in execution ${one.name}: ${refused}. Follow it with: sidekiq-migrate watch ${runId}, or stop it with: sidekiq-migrate stop ${runId}, then resume it.`);
  }
  if (running.length === 1) {
    throw new InputError(
      `Run ${runId} is still running, in execution ${one.name} (it carries ${CARRIES[one.kind as Exclude<RunExecutionKind, 'start'>]} on, after the execution that started it ended): ${refused}. ` +
        `Wait for it to end (sidekiq-migrate watch ${one.name}), or stop it with: sidekiq-migrate stop ${one.name}, then resume the run.`,
    );
  }
  throw new InputError(
    `Run ${runId} is still running, in ${running.length} executions: ${namesOf(running)}: ${refused}. ` +
      `Wait for them to end (sidekiq-migrate list shows them), or stop each with: ${running.map((e) => `sidekiq-migrate stop ${e.name}`).join('; ')}, then resume the run.`,
  );
}

/**
 * After `start --resume RUN` started its execution: a note when another execution of the run runs
 * too. refuseResumeWhileRunning's look and the start are two calls, and Step Functions has no
 * conditional start: another start of the run between them (another operator's resume) is found
 * only now. Nothing to undo (the run lock settles it: the later plan carries the run on, the other
 * execution moves nothing more), but the operator is told that two executions of the run run.
 * Silent when the look fails (the start stands).
 */
async function noteOtherStarts(sfn: StepFunctions, stateMachineArn: string, runId: string, ours: string, io: CliContext['io']): Promise<void> {
  const others = (await runningExecutionsOfRun(sfn, stateMachineArn, runId).catch(() => [])).filter((e) => e.executionArn !== ours);
  if (others.length === 0) return;
  const where = others.length === 1 ? `execution ${others[0]!.name}` : `${others.length} executions, ${namesOf(others)}`;
  io.err(
    `Note: run ${runId} also runs in ${where}, started after this command looked: two executions of the run run at once. ` +
      'The later of their plans carries the run on; the other moves nothing more and its summary says "Not complete here". sidekiq-migrate list shows them.\n',
  );
}

/**
 * Starts the execution that resumes run `input.runId`: execution names are single-use, so it is
 * named RUN-resume-2, RUN-resume-3… (the first free one: a name taken, even by one still running,
 * is refused as the input's startRequest is this command's own; Step Functions' CloudWatch logging wants
 * execution names of only 0-9A-Za-z-_, so no ".").  Its plan step takes the run's lock again and lifts the
 * stop marker; a transfer finishes what the run left in flight, and a re-route keeps recording its
 * moves under the same run id (one rollback covers the whole run).
 */
async function startResumed(sfn: StepFunctions, stateMachineArn: string, input: { runId: string }) {
  for (let n = 2; n <= MAX_RUN_EXECUTIONS; n++) {
    const name = resumedExecutionName(input.runId, n);
    if (name.length > 80) throw new InputError(`Run id ${input.runId} is too long to resume on Step Functions (execution names have at most 80 characters).`);
    try {
      return await sfn.start(stateMachineArn, name, input);
    } catch (error) {
      if ((error as { cause?: { name?: string } }).cause?.name !== 'ExecutionAlreadyExists') throw error;
    }
  }
  throw new InputError(`Run ${input.runId} was resumed ${MAX_RUN_EXECUTIONS - 1} times already; start a new run instead.`);
}


/**
 * Options of one mode typed for the other, which the execution input leaves out or its steps never
 * read: a re-route's --target (it stays on --source), a transfer's --unmapped (a transfer carries
 * jobs with no destination unchanged, as `move` does: page-step.ts reads it only to re-route), and
 * a re-route's queue-only options with --no-queues (queueOnlyOptions). The schema refuses the
 * others (--rate-limit, --cron…); these have defaults there, so only the typed ones are known here.
 */
function modeOnlyOptions(typed: ReadonlySet<string>, given: Record<string, unknown>): string[] {
  if (given['mode'] === 'transfer') return typed.has('unmapped') ? ['--unmapped: only a re-route leaves or quarantines jobs with no destination; a transfer carries them unchanged, as move does. Leave --unmapped out'] : [];
  return [
    ...(typed.has('target') ? ['--target: only a transfer (--mode transfer) has a target; a re-route stays on --source. Leave --target out, or add --mode transfer'] : []),
    ...queueOnlyOptions(typed, given),
  ];
}

/** An execution input too large for Step Functions, said with the options' other problems (inputSizeProblems). */
function inputSizeRefusal(given: Record<string, unknown>, ctx: CliContext, environmentGiven: string | undefined): string[] {
  // Quiet: the command says the warnings once, when it builds the input it starts.
  return inputSizeProblems(startOptionsSchema, given, (options) => executionInput({ ...options, environmentGiven }, { io: { ...ctx.io, err: () => {} }, now: ctx.now }).input);
}

/**
 * The execution input (core/workflow/workflow-input.ts), validated again by the plan step, and how
 * a selection chose its classes. A selection is resolved here, every file read, before anything
 * starts: the execution gets the class list (its plan step stores it on the source for the page
 * steps) and, when the selection re-routes, the mapping of the selected classes only.
 */
function executionInput(options: StartOptions & { readonly environmentGiven?: string }, ctx: Pick<CliContext, 'io' | 'now'>) {
  if (options.mode === 'transfer') refuseCronWithSelection(options.cron, hasSelection(options));
  const selection = hasSelection(options) ? resolveClassSelection(options) : undefined;
  const { routing, warnings } = options.rollback
    ? { routing: { kind: 'rollback' as const, of: options.rollback }, warnings: [] }
    : selection
      ? { routing: routingInputOfPlan(selection.plan), warnings: selection.warnings }
      : routingInputFromFlags(options);
  for (const w of warnings) ctx.io.err(`warning: ${w}\n`);
  const runId = options.resume ?? options.runId ?? newRunId(options.rollback ? 'rollback' : options.mode, ctx.now());
  const input = {
    // The same builder as run's and move's (migration-input.ts): a deployed run gets what a local one would.
    ...migrationInput(
      { runId, mode: options.mode, source: options.source, target: options.mode === 'transfer' ? options.target : undefined, routing, classes: selection?.classes, cron: options.rewriteCron ? 'rewrite' : options.cron ? 'carry' : undefined },
      options,
    ),
    // This command's own: a name already taken is then always refused (ExecutionAlreadyExists),
    // never answered with the open execution of that name (Step Functions' idempotent start of the
    // same name and input), which this command did not start. Counted in the input's size.
    startRequest: randomUUID(),
  };
  return { input, selected: selection?.description };
}
