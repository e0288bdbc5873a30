import type { Connection } from '../../core/workflow/connections.js';
import { resolveRoutingInput } from '../../core/workflow/resolve-routing.js';
import { FatalError } from '../../core/errors/sidekiq-migrate-error.js';
import { readStartedWith, startDifference, startedWith, type StartedWith } from '../../core/workflow/started-with.js';
import { storedRoutingKey } from '../../core/workflow/stored-routing.js';
import { storedSelectionKey } from '../../core/workflow/stored-selection.js';
import { workListKey } from '../../core/workflow/work-list.js';
import type { RoutingInput } from '../../core/workflow/workflow-input.js';
import { deadRunOfThisMachine, newRunId } from './choose-run-id.js';
import { differenceWords, otherRoutingError, type TakeoverDifference } from './dead-run-in-the-way.js';

/** What a command would resume a dead run with: its routing input, and a move's selected classes. */
export interface TakeoverInput {
  readonly mode: 'reroute' | 'transfer';
  readonly routing: RoutingInput | undefined;
  readonly classes?: readonly string[];
}

/**
 * How run `runId` on `source` differs from what this command would resume it with: other routing,
 * another selection of classes (a move's), or both; undefined when it does not, or when it never
 * planned (started-with.ts: what its first plan recorded, which fixes them for good). Resumed with
 * other ones, the rest of its jobs would go elsewhere than those it moved (or other classes' jobs
 * would move), and a re-route's rollback record would hold both routings' moves. Compared as the
 * plan step records them, in no particular order (a mapping file with its lines in another order
 * is the same routing). A record that does not parse differs. A run of another operation (a
 * transfer's id given to `run`) is not compared here.
 */
export async function runDiffers(source: Connection, runId: string, wanted: TakeoverInput): Promise<{ mode: StartedWith['mode']; differs: TakeoverDifference } | undefined> {
  // A `run` without routing is bad input, which the plan step names before it takes any lock; a
  // rollback chooses the run it resumes itself (rollback-command.ts).
  if ((wanted.mode === 'reroute' && wanted.routing === undefined) || wanted.routing?.kind === 'rollback') return undefined;
  const { prefix } = source.keys;
  const legacy = { routingKey: storedRoutingKey(prefix, runId), selectionKey: storedSelectionKey(prefix, runId), workListKey: workListKey(prefix, runId), mode: wanted.mode };
  const started = await readStartedWith(source.redis, prefix, runId, legacy);
  if (started === undefined || started.mode !== wanted.mode) return undefined;
  const differs = startDifference(started, startedWith(wanted.mode, wanted.routing ? resolveRoutingInput(wanted.routing) : undefined, wanted.classes));
  return differs === undefined ? undefined : { mode: started.mode, differs };
}

/**
 * A run is resumed only with the routing and classes its first plan recorded: a dead run of this
 * machine about to be taken over when chosen for this command (`chosen.resumes`), and any run
 * named with --run-id (`given`): a dead one of this machine, one stopped (Ctrl-C), failed,
 * finished, or another machine's (a run id whose process is alive on this machine is that
 * process's, and its lock refuses this one). Refused otherwise, touching nothing: the dead one
 * with what its lock says (otherRoutingError), any other with otherRoutingOfRunError. A dry run
 * writes nothing and resumes nothing: a chosen one plans under an id of its own, as does one whose
 * dead run's lock expired between the two reads (that run is nobody's); a given id stays the one
 * given.
 */
export async function refuseOtherRouting(source: Connection, chosen: { runId: string; resumes: boolean }, wanted: TakeoverInput, dryRun: boolean, given = false): Promise<{ runId: string; resumes: boolean }> {
  if ((!chosen.resumes && !given) || (given && dryRun)) return chosen;
  const dead = dryRun ? undefined : await deadRunOfThisMachine(source);
  const found = await runDiffers(source, chosen.runId, wanted);
  if (found === undefined) return chosen;
  if (dead?.runId === chosen.runId && dead.operation === found.mode) throw await otherRoutingError(source, dead, found.differs);
  if (given) throw otherRoutingOfRunError(chosen.runId, found.mode, found.differs);
  return { runId: newRunId(wanted.mode), resumes: false };
}

/** A resumed run with other routing or classes than it was started with, that no live lock names this machine's. */
export class OtherRoutingError extends FatalError {}

/**
 * `--run-id X` with other routing (or classes) than run X was started with, X holding no lock of
 * a dead process of this machine: stopped, failed, finished, or another machine's. Named, with
 * the ways out: finish X with its own routing (or roll a re-route back), or run this command as a
 * new run.
 */
export function otherRoutingOfRunError(runId: string, mode: 'reroute' | 'transfer', differs: TakeoverDifference): OtherRoutingError {
  const { started, would } = differenceWords(differs);
  const reroute = mode === 'reroute';
  const record = reroute ? ', and its rollback record would mix both' : '';
  const own = reroute ? 'its own routing' : 'its own routing and classes';
  const back = reroute ? `, or roll it back (sidekiq-migrate rollback ${runId})` : '';
  return new OtherRoutingError(
    `Run ${runId} (${mode}) was started with ${started} than this command's (its first plan fixed them for good): resumed with this one, it would ${would}${record}. ` +
      `Finish it with ${own} (its own command again, with --run-id ${runId})${back}; or run this command without --run-id ${runId}, as a new run (the jobs ${runId} moved stay as it moved them). Nothing was touched.`,
  );
}
