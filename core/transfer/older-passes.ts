import type { Redis } from 'ioredis';
import { generationArg } from '../redis/generation-arg.js';
import { LuaScript } from '../redis/lua-script.js';
import { runLockKey } from '../redis/run-lock.js';
import type { PassesOwner } from '../reroute/older-passes.js';

const forgetScript = new LuaScript('forgetOlderTransferPasses-n2');

/** Counts deleted per call: a run has one per queue or set, a few at most in practice. */
const COUNTS_PER_CALL = 100;

/**
 * Why: a transfer killed between a pass's last acknowledge and the `DEL` that ends the pass
 * (queue-transfer.ts endPass, selective-queue-transfer.ts, set-transfer.ts: its own round trip)
 * leaves the pass's count of originals (transfer-keys.ts originalsKey), no expiry. Its run resumed
 * finishes, but when the queue is empty by then the resumed plan has no item for it (it lists the
 * queue lists that exist) and no pass ends it. (A set's pass always has an item: it ends it.)
 *
 * A resumed start's plan, holding the run's lock, deletes, of the run's pass counts (queues' and
 * sets') its walk of the keyspace found (`found`: core/workflow/older-starts.ts), those of an
 * earlier start's generation, only while the lock is this start's exactly
 * (forgetOlderTransferPasses-n2.lua). Returns how many it deleted; 0 when a later start holds the
 * lock (its plan does the same). The re-route's records: core/reroute/older-passes.ts.
 */
export async function forgetOlderTransferPasses(redis: Redis, prefix: string, owner: PassesOwner, found: readonly Buffer[]): Promise<number> {
  if (owner.plannedAt === undefined) return 0;
  let deleted = 0;
  for (let i = 0; i < found.length; i += COUNTS_PER_CALL) {
    const reply = (await forgetScript.run(redis, { keys: [runLockKey(prefix), ...found.slice(i, i + COUNTS_PER_CALL)], args: [owner.runId, owner.plannedAt, owner.plannedBy ?? '', generationArg(owner)] })) as [number, number?];
    if (reply[0] !== 1) return deleted;
    deleted += reply[1] ?? 0;
  }
  return deleted;
}
