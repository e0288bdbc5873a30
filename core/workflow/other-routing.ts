import { FatalError } from '../errors/sidekiq-migrate-error.js';
import { readTargetId } from '../transfer/target-identity.js';
import { runWroteTo } from '../transfer/run-wrote-to.js';
import type { Connection } from './connections.js';
import { resolveRoutingInput } from './resolve-routing.js';
import { readStartedWith, startDifference, startedWith, type StartDifference, type StartedWith } from './started-with.js';
import { storedRoutingKey } from './stored-routing.js';
import { storedSelectionKey } from './stored-selection.js';
import { workListKey } from './work-list.js';
import type { RoutingInput, WorkflowInput } from './workflow-input.js';

/**
 * A run is resumed only with the routing and classes (a transfer: and the target) its first plan recorded (started-with.ts):
 * resumed with others, the rest of its jobs would go elsewhere than those it moved (or other
 * classes' jobs would move), and a re-route's rollback record would hold both routings' moves.
 * Refused by the local CLI before it plans (cli/workflow/dead-run-routing.ts), and by the plan
 * step itself (any execution, `start --resume` included), in the same words.
 */

/** What a command would resume a run with: its routing input, and a move's selected classes. */
export interface TakeoverInput {
  readonly mode: 'reroute' | 'transfer';
  readonly routing: RoutingInput | undefined;
  readonly classes?: readonly string[];
  /** A transfer's target: compared, by its id, with the one the run's first plan recorded. */
  readonly target?: Connection;
}

/**
 * What differs between a run and the command that would resume it: its routing, classes, or
 * both; its operation (a re-route's id given to `move`, a transfer's to `run`); or a transfer's
 * target (another Redis than the one it moved its first jobs to).
 */
export type TakeoverDifference = StartDifference | 'operation' | 'target';

/**
 * A transfer's target as its first plan recorded it (null: its record, kept by an older version,
 * names none, and the one here holds nothing the run wrote), and the one a command would resume
 * it with (null: no transfer ever wrote there).
 */
export interface TargetIds {
  readonly started: string | null;
  readonly here: string | null;
  /**
   * The prefix this command writes under on its target. A target is a Redis under a prefix (its id
   * is kept under it), so a resume with the same --to and another --to-namespace finds no id: the
   * words name the prefix, lest they send the operator after a flush that never happened.
   */
  readonly herePrefix?: string;
}

/**
 * How run `runId` on `source` differs from what this command would resume it with: another
 * operation (a transfer's id given to `run`, a re-route's or rollback's to `move`), other
 * routing, another selection of classes (a move's), or both; undefined when it does not, or when
 * it never planned (started-with.ts: what its first plan recorded, which fixes them for good).
 * Compared as the plan step records them, in no particular order (a mapping file with its lines in
 * another order is the same routing). A record that does not parse differs.
 */
export async function runDiffers(source: Connection, runId: string, wanted: TakeoverInput): Promise<{ mode: StartedWith['mode']; differs: TakeoverDifference; targets?: TargetIds } | undefined> {
  // A `run` without routing is bad input, which the plan step names before it takes any lock.
  if (wanted.mode === 'reroute' && wanted.routing === undefined) return undefined;
  const { prefix } = source.keys;
  const legacy = { routingKey: storedRoutingKey(prefix, runId), selectionKey: storedSelectionKey(prefix, runId), workListKey: workListKey(prefix, runId), mode: wanted.mode };
  const started = await readStartedWith(source.redis, prefix, runId, legacy);
  if (started === undefined) return undefined;
  // One run id is one operation: a re-route under a transfer's id would store its routing where
  // that transfer's resume reads how to route the jobs it left in flight, and add its moves to a
  // rollback record of a run that moved nothing in place (and the other way round).
  if (started.mode !== wanted.mode) return { mode: started.mode, differs: 'operation' };
  // A rollback, by the run it rolls back (the moves it reads may have changed since: that run
  // resumed). Under the id of a re-route, or of a rollback of another run, it recorded its moves in
  // that run's record, which that run's rollback then put back too (audit-rollback).
  // (Its own run: resolveRouting refuses it in words of its own.)
  if (wanted.routing?.kind === 'rollback') return rollbackOf(started.routing) === wanted.routing.of || wanted.routing.of === runId ? undefined : { mode: started.mode, differs: 'routing' };
  const differs = startDifference(started, startedWith(wanted.mode, wanted.routing ? resolveRoutingInput(wanted.routing) : undefined, wanted.classes));
  if (differs !== undefined) return { mode: started.mode, differs };
  // A transfer goes on to the target its first plan wrote to, by that target's own id (a URL
  // cannot tell: one server has many names): resumed to another, the run would be split between
  // two servers, its summary and records mixed. A target without an id yet is one no transfer ever
  // wrote to, so not the run's: refused too. A record without a target (kept before targets were,
  // or a run planned before started-with was kept) cannot tell by the id: the target is the run's
  // when it holds a ledger of the run (it wrote there), and refused otherwise, as the careful
  // answer (a new run moves the rest there if that is what is meant). What such a run left in
  // flight is also refused on another target by its batches' target ids (refuseForeignLeftovers).
  if (started.mode === 'transfer' && wanted.target) {
    if (typeof started.target === 'string') {
      const here = await readTargetId(wanted.target.redis, wanted.target.keys);
      if (here !== started.target) return { mode: started.mode, differs: 'target', targets: { started: started.target, here, herePrefix: wanted.target.keys.prefix } };
    } else if (!(await runWroteTo(source, wanted.target, runId))) {
      return { mode: started.mode, differs: 'target', targets: { started: null, here: await readTargetId(wanted.target.redis, wanted.target.keys), herePrefix: wanted.target.keys.prefix } };
    }
  }
  return undefined;
}

/** The run a rollback's recorded routing (canonicalRouting's `["reverse", of, moves]`) rolls back; undefined for any other. */
function rollbackOf(routing: string | null): string | undefined {
  try {
    const value: unknown = routing === null ? null : JSON.parse(routing);
    return Array.isArray(value) && value[0] === 'reverse' && typeof value[1] === 'string' ? value[1] : undefined;
  } catch {
    return undefined;
  }
}

/** How a run's routing, classes or target differ from a command's, and what that command would do to it. */
export function differenceWords(differs: StartDifference | 'target', targets?: TargetIds): { started: string; would: string } {
  const under = targets?.herePrefix === undefined ? 'there' : `to this Redis under ${targets.herePrefix === '' ? 'no prefix' : `the prefix ${JSON.stringify(targets.herePrefix)}`}`;
  const hereId = targets?.here === null ? `has none: no transfer wrote ${under}, or it lost its data since (restarted empty or flushed)` : `is ${targets?.here}`;
  const unnamed = targets?.started === null;
  const unnamedHere = targets?.here === null ? 'no transfer wrote there yet' : `its id is ${targets?.here}`;
  const ids = targets ? (unnamed ? ` (an older version kept its record; this one holds nothing the run wrote, and ${unnamedHere}), perhaps another` : ` (target id ${targets.started}; this one's ${hereId})`) : '';
  const started = { routing: 'other routing', classes: 'another selection of classes', both: 'other routing and another selection of classes', target: unnamed ? `a target it did not record${ids}` : `another target${ids}` }[differs];
  const elsewhere = 'move the rest of its jobs elsewhere than the jobs it moved';
  const otherClasses = 'move the jobs of other classes than the ones it was started for';
  const split = `${unnamed ? 'risk moving' : 'move'} the rest of its jobs to another Redis than the jobs it moved, its summary and records split between the two`;
  return { started, would: { routing: elsewhere, classes: otherClasses, both: `${elsewhere}, and ${otherClasses}`, target: split }[differs] };
}

/** A run resumed with other routing or classes than its first plan recorded: refused by the local CLI, or by the plan step. */
export class OtherRoutingError extends FatalError {}

/** Who resumes the run, and the ways out in that one's own terms. */
export interface ResumeWays {
  /** "this command", "this execution". */
  readonly subject: string;
  /** How to finish the run with its own routing (and classes). */
  readonly again: string;
  /** How to roll a re-route back. */
  readonly rollback: string;
  /** How to do what was asked as a new run instead, with `stay` (what becomes of the jobs the run moved) in its place. */
  readonly fresh: (stay: string) => string;
  /** The options that name a transfer's target: the prefix is part of it (a target's id is kept under it). */
  readonly targetOptions: string;
}

/** The local CLI's: `run`/`move --run-id X`. */
export function commandResumeWays(runId: string): ResumeWays {
  return { subject: 'this command', again: `its own command again, with --run-id ${runId}`, rollback: `sidekiq-migrate rollback ${runId}`, fresh: (stay) => `run this command without --run-id ${runId}, as a new run (${stay})`, targetOptions: '--to, --to-namespace' };
}

/**
 * An execution's (the plan step's): `start --resume X` on AWS, any execution whose input names
 * run X, or a local run that planned X with other routing after the CLI compared.
 */
export function executionResumeWays(runId: string): ResumeWays {
  // Each mention of the run id counts: a FatalError's message reaches Step Functions cut at
  // TASK_ERROR_MESSAGE_CHARS, and these words fit it whole with an 80-character run id.
  return {
    subject: 'this execution',
    again: `sidekiq-migrate start --resume ${runId}; locally, its run or move command with --run-id ${runId}`,
    rollback: `sidekiq-migrate start --rollback ${runId}`,
    fresh: (stay) => `start this one as a new run, without --resume (${stay})`,
    // Deployed, the prefix is the target connection's (its `prefix`), which a resume cannot change.
    targetOptions: '--to',
  };
}

/**
 * Run `runId` resumed with other routing (or classes) than it was started with, no live run of
 * this machine holding it: stopped, failed, finished, or another machine's. Named, with the ways
 * out: finish it with its own routing (or roll a re-route back), or do this as a new run.
 */
export function otherRoutingOfRunError(runId: string, mode: 'reroute' | 'transfer', differs: TakeoverDifference, ways: ResumeWays = commandResumeWays(runId), targets?: TargetIds): OtherRoutingError {
  if (differs === 'operation') return otherOperationOfRunError(runId, mode, ways);
  const { started, would } = differenceWords(differs, targets);
  const reroute = mode === 'reroute';
  const record = reroute ? ', and its rollback record would mix both' : '';
  const own = reroute ? 'its own routing' : differs === 'target' ? `its own target (${ways.targetOptions}), routing and classes` : 'its own routing and classes';
  const back = reroute ? `, or roll it back (${ways.rollback})` : '';
  return new OtherRoutingError(
    `Run ${runId} (${mode}) was started with ${started} than ${ways.subject}'s (its first plan fixed them for good): resumed with this one, it would ${would}${record}. ` +
      `Finish it with ${own} (${ways.again})${back}; or ${ways.fresh(`the jobs ${runId} moved stay as it moved them`)}. Nothing was touched.`,
  );
}

const OPERATION_WORDS = { reroute: 're-route (run)', transfer: 'transfer (move)' } as const;

/**
 * Run `runId`, started as a `mode` (its first plan fixed it), named by a command or execution of
 * the other operation: refused, nothing touched, with the ways out (its own command, or this one
 * as a new run). Resumed as the other, its stored routing (which a transfer's resume routes the
 * jobs it left in flight by) and its records would mix the two.
 */
function otherOperationOfRunError(runId: string, mode: 'reroute' | 'transfer', ways: ResumeWays): OtherRoutingError {
  const other = mode === 'reroute' ? 'transfer' : 'reroute';
  return new OtherRoutingError(
    `Run ${runId} was started as a ${OPERATION_WORDS[mode]}, not a ${OPERATION_WORDS[other]} as ${ways.subject} is (its first plan fixed it for good): resumed as one, its stored routing and records would mix both operations. ` +
      `Finish it with its own command (${ways.again}); or ${ways.fresh(`the jobs ${runId} moved stay as it moved them`)}. Nothing was touched.`,
  );
}

/**
 * The plan step's refusal, before it takes any lock or writes anything: an execution planning run
 * `input.runId` (`start --resume`, or any input naming the run) as another operation, or with
 * other routing or classes, than its first plan recorded. A FatalError: planning it again would be
 * refused again, so the state machine does not retry it. A dry run is refused the same way: it
 * would preview, under the run's id, what that run will never do.
 */
export async function refuseOtherRoutingOfExecution(source: Connection, input: Pick<WorkflowInput, 'runId' | 'mode' | 'routing' | 'classes' | 'dryRun'>, target?: Connection): Promise<void> {
  const found = await runDiffers(source, input.runId, { mode: input.mode, routing: input.routing, ...(input.classes ? { classes: input.classes } : {}), ...(target ? { target } : {}) });
  if (found !== undefined) throw otherRoutingOfRunError(input.runId, found.mode, found.differs, executionResumeWays(input.runId), found.targets);
}
