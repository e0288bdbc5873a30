import type { Redis } from 'ioredis';
import { generationArg } from '../redis/generation-arg.js';
import { LuaScript } from '../redis/lua-script.js';
import { runLockKey } from '../redis/run-lock.js';

const forgetScript = new LuaScript('forgetOlderPasses-n1');

/** Records deleted per call: a run has one per queue, a few at most in practice. */
const RECORDS_PER_CALL = 100;

/** The start of a run (its generation) whose plan forgets what earlier starts left. */
export interface PassesOwner {
  readonly runId: string;
  readonly plannedAt?: number;
  readonly plannedBy?: string;
}

/**
 * Why: a re-route killed between a queue's last moving call and the call that ends that queue's
 * pass (endQueuePass-5.lua, its own round trip) leaves the queue's pass record (pass-record.ts),
 * no expiry. Its run resumed finishes the queue's jobs, but when the queue is empty by then the
 * resumed plan has no item for it (it lists the queue lists that exist) and no pass ends it.
 *
 * A resumed start's plan, holding the run's lock, deletes, of the run's pass records its walk of the
 * keyspace found (`found`, `<prefix>sidekiq-migrate:<run>:originals:queue:NAME`: core/workflow/
 * older-starts.ts), those of an earlier start's generation, only while the lock is this start's
 * exactly (forgetOlderPasses-n1.lua). Returns how many it deleted; 0 when a later start holds the
 * lock (its plan does the same).
 */
export async function forgetOlderPasses(redis: Redis, prefix: string, owner: PassesOwner, found: readonly Buffer[]): Promise<number> {
  if (owner.plannedAt === undefined) return 0;
  let deleted = 0;
  for (let i = 0; i < found.length; i += RECORDS_PER_CALL) {
    const reply = (await forgetScript.run(redis, { keys: [runLockKey(prefix), ...found.slice(i, i + RECORDS_PER_CALL)], args: [owner.runId, owner.plannedAt, owner.plannedBy ?? '', generationArg(owner)] })) as [number, number?];
    if (reply[0] !== 1) return deleted;
    deleted += reply[1] ?? 0;
  }
  return deleted;
}
