import type { Redis } from 'ioredis';
import { scanBounded, type ScanBound } from '../redis/bounded-scan.js';
import { generationArg } from '../redis/generation-arg.js';
import { LuaScript } from '../redis/lua-script.js';
import { runLockKey } from '../redis/run-lock.js';
import { originalsKey } from '../transfer/transfer-keys.js';
import { escapeGlob } from './discover-queues.js';

const forgetScript = new LuaScript('forgetOlderPasses-n1');

/** Records deleted per call: a run has one per queue, a few at most in practice. */
const RECORDS_PER_CALL = 100;

/** The start of a re-route run whose last execution summarizes. */
export interface PassesOwner {
  readonly runId: string;
  readonly plannedAt?: number;
  readonly plannedBy?: string;
}

/**
 * Why: a re-route killed between a queue's last moving call and the call that ends that queue's
 * pass (endQueuePass-2.lua, its own round trip) leaves the queue's pass record (pass-record.ts),
 * no expiry. Its run resumed finishes the queue's jobs, but when the queue is empty by then the
 * resumed plan has no item for it (it lists the queue lists that exist) and no pass ends it.
 *
 * The run's last execution, before it finishes the run (its lock still held), looks for the run's
 * pass records (one SCAN MATCH, bounded by `bound`: a look cut short leaves what it did not reach)
 * and deletes those of an earlier start's generation, only while the lock is this start's exactly
 * (forgetOlderPasses-n1.lua). Returns how many it deleted; 0 when a later start holds the lock
 * (its summary is the one that will end the run).
 */
export async function forgetOlderPasses(redis: Redis, prefix: string, owner: PassesOwner, bound: ScanBound): Promise<number> {
  if (owner.plannedAt === undefined) return 0;
  const head = originalsKey(prefix, owner.runId, 'queue:') as string;
  const found = new Set<string>();
  await scanBounded(redis, `${escapeGlob(head)}*`, bound, (keys) => {
    for (const key of keys) found.add(key.toString('latin1'));
  });
  const records = [...found].map((k) => Buffer.from(k, 'latin1'));
  let deleted = 0;
  for (let i = 0; i < records.length; i += RECORDS_PER_CALL) {
    const reply = (await forgetScript.run(redis, { keys: [runLockKey(prefix), ...records.slice(i, i + RECORDS_PER_CALL)], args: [owner.runId, owner.plannedAt, owner.plannedBy ?? '', generationArg(owner)] })) as [number, number?];
    if (reply[0] !== 1) return deleted;
    deleted += reply[1] ?? 0;
  }
  return deleted;
}
