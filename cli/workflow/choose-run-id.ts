import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { LockHolder } from '../../core/redis/run-lock.js';
import { runLockKey } from '../../core/redis/run-lock.js';
import type { Connection } from '../../core/workflow/connections.js';

/**
 * The run id for a CLI run: the one given, or — when a run of this machine holds the lock but its
 * process is gone (killed, crashed, machine rebooted) — that run's id, so that this run resumes
 * it at once instead of waiting for its lock to expire; otherwise a new one, e.g.
 * `reroute-20261123-204512-3f9a`.
 */
export async function chooseRunId(given: string | undefined, mode: 'reroute' | 'transfer', connections: readonly Connection[], isAlive = pidAlive): Promise<{ runId: string; resumes: boolean }> {
  if (given) return { runId: given, resumes: false };
  for (const c of connections) {
    const value = await c.redis.get(runLockKey(c.keys.prefix));
    if (value === null) continue;
    try {
      const holder = JSON.parse(value) as LockHolder;
      // An expired lock (it stays as a key: its expiry is in its value) is nobody's to resume.
      if (holder.expiresAt !== undefined && holder.expiresAt < Date.now()) continue;
      if (holder.host === hostname() && holder.operation === mode && !isAlive(holder.pid)) return { runId: holder.runId, resumes: true };
    } catch {
      // not a lock we wrote: the plan step will name it
    }
  }
  return { runId: newRunId(mode), resumes: false };
}

/** A new run id: `reroute-20261123-204512-3f9a` — sortable, unique enough, a valid execution name. */
export function newRunId(kind: 'reroute' | 'transfer' | 'rollback', now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${kind}-${stamp}-${randomBytes(2).toString('hex')}`;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
