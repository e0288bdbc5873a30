import type { LockHolder } from '../../core/redis/run-lock.js';
import type { Connection } from '../../core/workflow/connections.js';
import { differenceWords, type TargetIds } from '../../core/workflow/other-routing.js';
import type { StartDifference } from '../../core/workflow/started-with.js';
import { DeadRunInTheWayError, deadRunOfThisMachine } from './choose-run-id.js';

/**
 * What is known of a run of this machine whose process is gone and whose lock on `c` still holds:
 * "its process on this machine (pid N) is gone, and its run lock on C holds for S s more" (the
 * seconds by the server's clock, which wrote the lock's expiry).
 */
export async function interruptedRunWords(c: Connection, dead: LockHolder): Promise<string> {
  const [seconds] = await c.redis.time();
  const expiresIn = dead.expiresAt === undefined ? undefined : Math.max(0, Math.ceil((dead.expiresAt - Number(seconds) * 1000) / 1000));
  const expiry = expiresIn === undefined ? 'until it expires' : `for ${expiresIn} s more`;
  return `its process on this machine (pid ${dead.pid}) is gone, and its run lock on ${c.name} holds ${expiry}`;
}

/**
 * A run of this machine whose process is gone (killed, crashed) holds the lock on one of
 * `connections`, and this command (run `runId`) does not resume it: its plan would be refused by
 * that lock with "wait for it, or stop it", as if that run were alive, and there is no process to
 * stop. Refused here, touching nothing, with what to do: finish that run (its own command again
 * resumes it), or wait for its lock to expire. A dry run takes no lock: call this only for a real
 * run.
 */
export async function refuseDeadRunInTheWay(connections: readonly Connection[], runId: string): Promise<void> {
  for (const c of connections) {
    const dead = await deadRunOfThisMachine(c);
    if (!dead || dead.runId === runId) continue;
    throw new DeadRunInTheWayError(
      `Run ${dead.runId} (${dead.operation}) was interrupted: ${await interruptedRunWords(c, dead)}. ` +
        `Finish it by running its command again (it resumes ${dead.runId}), then run this command again; or run this command again once that lock has expired. Nothing was touched.`,
    );
  }
}

/**
 * A plain `run` or `move` would take over dead run `dead` (its process on this machine is gone,
 * its lock on `c` holds) with other routing, or (a move) another selection of classes, than that
 * run stored (dead-run-routing.ts): it would move the rest of that run's jobs elsewhere than those
 * it moved (or other classes' jobs), say "Complete", and a re-route would leave a rollback record
 * of both routings' moves. Refused, touching nothing, with the two ways out: finish that run with
 * its own routing (and classes); or, once its lock has expired, roll a re-route back (a rollback
 * waits for it too) or run the move again (what it moved stays as it moved it).
 */
export async function otherRoutingError(c: Connection, dead: LockHolder, differs: StartDifference | 'target', targets?: TargetIds): Promise<DeadRunInTheWayError> {
  const { started, would } = differenceWords(differs, targets);
  const reroute = dead.operation === 'reroute';
  const record = reroute ? ', and its rollback record would mix both' : '';
  const own = reroute ? 'with its routing' : differs === 'target' ? 'with its target (--to, --to-namespace), routing and classes' : 'with its routing and classes';
  const later = reroute ? `roll it back once that lock has expired (sidekiq-migrate rollback ${dead.runId}), then run this command again` : 'run this command again once that lock has expired (the jobs it moved stay as it moved them)';
  return new DeadRunInTheWayError(
    `Run ${dead.runId} (${dead.operation}) was interrupted: ${await interruptedRunWords(c, dead)}. ` +
      `It was started with ${started} than this command's: resumed with this one, it would ${would}${record}. ` +
      `Finish it by running its own command again, ${own} (it resumes ${dead.runId}), then run this command again; or ${later}. Nothing was touched.`,
  );
}
