import type { LockHolder } from '../../core/redis/run-lock.js';
import type { Connection } from '../../core/workflow/connections.js';
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
