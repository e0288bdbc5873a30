import type { Connection } from '../../core/workflow/connections.js';
import { otherRoutingOfRunError, runDiffers, type TakeoverInput } from '../../core/workflow/other-routing.js';
import { deadRunOfThisMachine, newRunId } from './choose-run-id.js';
import { otherRoutingError } from './dead-run-in-the-way.js';

/**
 * A run is resumed only as the operation, and with the routing and classes, its first plan
 * recorded: a dead run of this machine about to be taken over when chosen for this command
 * (`chosen.resumes`), and any run named with --run-id (`given`): a dead one of this machine, one
 * stopped (Ctrl-C), failed, finished, or another machine's (a run id whose process is alive on
 * this machine is that process's, and its lock refuses this one). Refused otherwise, touching
 * nothing: the dead one with what its lock says (otherRoutingError), any other (or another
 * operation) with otherRoutingOfRunError. A dry run writes nothing and resumes nothing: a chosen
 * one plans under an id of its own, as does one whose dead run's lock expired between the two
 * reads (that run is nobody's); a given id is refused in the real run's words (it would preview,
 * under that run's id, what that run will never do).
 */
export async function refuseOtherRouting(source: Connection, chosen: { runId: string; resumes: boolean }, wanted: TakeoverInput, dryRun: boolean, given = false): Promise<{ runId: string; resumes: boolean }> {
  if (!chosen.resumes && !given) return chosen;
  const dead = dryRun && !given ? undefined : await deadRunOfThisMachine(source);
  const found = await runDiffers(source, chosen.runId, wanted);
  if (found === undefined) return chosen;
  if (found.differs !== 'operation' && dead?.runId === chosen.runId && dead.operation === found.mode) throw await otherRoutingError(source, dead, found.differs, found.targets);
  if (given) throw otherRoutingOfRunError(chosen.runId, found.mode, found.differs, undefined, found.targets);
  return { runId: newRunId(wanted.mode), resumes: false };
}
