import type { Redis } from 'ioredis';
import { scanBounded, type ScanBound } from '../redis/bounded-scan.js';
import { generationArg } from '../redis/generation-arg.js';
import { LuaScript } from '../redis/lua-script.js';
import { runLockKey } from '../redis/run-lock.js';
import { escapeGlob } from '../reroute/discover-queues.js';
import type { PassesOwner } from '../reroute/older-passes.js';
import { originalsKey } from './transfer-keys.js';

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
 * The run's last execution, before it finishes the run (its lock still held), looks for the run's
 * pass counts, queues' and sets' (one SCAN MATCH, bounded by `bound`: a look cut short leaves what
 * it did not reach) and deletes those of an earlier start's generation, only while the lock is
 * this start's exactly (forgetOlderTransferPasses-n2.lua). Returns how many it deleted; 0 when a
 * later start holds the lock (its summary is the one that will end the run). The re-route's
 * records: core/reroute/older-passes.ts.
 */
export async function forgetOlderTransferPasses(redis: Redis, prefix: string, owner: PassesOwner, bound: ScanBound): Promise<number> {
  if (owner.plannedAt === undefined) return 0;
  const head = originalsKey(prefix, owner.runId, '') as string;
  const found = new Set<string>();
  await scanBounded(redis, `${escapeGlob(head)}*`, bound, (keys) => {
    for (const key of keys) found.add(key.toString('latin1'));
  });
  const counts = [...found].map((k) => Buffer.from(k, 'latin1'));
  let deleted = 0;
  for (let i = 0; i < counts.length; i += COUNTS_PER_CALL) {
    const reply = (await forgetScript.run(redis, { keys: [runLockKey(prefix), ...counts.slice(i, i + COUNTS_PER_CALL)], args: [owner.runId, owner.plannedAt, owner.plannedBy ?? '', generationArg(owner)] })) as [number, number?];
    if (reply[0] !== 1) return deleted;
    deleted += reply[1] ?? 0;
  }
  return deleted;
}
