import type { PageLook } from '../redis/shared-walk.js';
import { forgetOlderPasses } from '../reroute/older-passes.js';
import { sourceKeyOf } from '../transfer/ledgers-left.js';
import { retireRunLedgers } from '../transfer/retire-ledger.js';
import { DEFAULT_LEDGER_TTL_SECONDS } from '../transfer/transfer-options.js';
import { forgetOlderTransferPasses } from '../transfer/older-passes.js';
import type { Connection } from './connections.js';
import type { Planner } from './planner-guard.js';

/** What the plan's walk found of the run's earlier starts on the source (olderStartsLook). */
export interface OlderStarts {
  /** The run's pass records (a transfer's: pass counts), `<prefix>sidekiq-migrate:<run>:originals:*`, by their bytes. */
  readonly passes: Buffer[];
  /** A key of the run other than its started-with record was there: a start of it planned before this one. */
  readonly startedBefore: boolean;
}

/**
 * Why: a run killed between a queue's last move and the end of that queue's pass (its own round
 * trip: endQueuePass-5.lua, a transfer's `DEL`) leaves the pass's record, no expiry, and a
 * transfer's ledger of that queue on the target without its expiry; when the queue is empty by
 * then, the resumed run has no item for it. The resumed run's last summary looked for them in a
 * walk of its own, bounded by the summary's time: among many millions of keys, cut short, it left
 * them for good; and it looked only when the run's started-with record was there (30 days from the
 * last page): a run resumed later was taken for a first start. The plan walks the whole source
 * keyspace anyway, before any lock or write, and must reach its end (plan-walk.ts): this look rides
 * on that walk, and costs the summary no walk of its own.
 *
 * Nothing of this start is there when the walk runs: every key it finds under the run's name is an
 * earlier start's (its started-with record apart: kept for 30 days whatever the start).
 */
export function olderStartsLook(prefix: string, runId: string): PageLook & { found(): OlderStarts } {
  const head = Buffer.from(`${prefix}sidekiq-migrate:${runId}:`, 'utf8');
  const passesHead = Buffer.from(`${prefix}sidekiq-migrate:${runId}:originals:`, 'utf8');
  const startedWith = Buffer.from(`${prefix}sidekiq-migrate:${runId}:started-with`, 'utf8');
  const passes = new Map<string, Buffer>();
  let startedBefore = false;
  return {
    heads: [head.toString('utf8')],
    onPage: (keys) => {
      for (const key of keys) {
        if (!key.equals(startedWith)) startedBefore = true;
        if (key.length > passesHead.length && passesHead.compare(key, 0, passesHead.length) === 0) passes.set(key.toString('latin1'), key);
      }
    },
    found: () => ({ passes: [...passes.values()], startedBefore }),
  };
}

/**
 * The resumed plan, holding the run's locks (after it finished what earlier starts left in flight):
 * deletes the pass records of earlier starts' generations its walk found, in steps guarded by the
 * lock (forgetOlderPasses-n1.lua, forgetOlderTransferPasses-n2.lua: only while the lock is this
 * start's exactly; a record of this start's generation cannot be there yet), and gives a transfer's
 * ledgers of those source keys their expiry the usual safe way (retire-ledger.ts: only a ledger
 * with nothing of the run in flight, in three steps that never give one a copy still writes; one
 * of a queue this start moves again loses it at its next copy, and its item's end gives it back).
 * A record of an earlier generation is read by nothing of this start (its passes' first calls
 * take only their own generation's). Returns how many records it deleted.
 */
export async function forgetOlderStarts(mode: 'reroute' | 'transfer', source: Connection, target: Connection | undefined, planner: Planner, passes: readonly Buffer[]): Promise<number> {
  if (passes.length === 0) return 0;
  const owner = { runId: planner.runId, plannedAt: planner.plannedAt, ...(planner.plannedBy !== undefined ? { plannedBy: planner.plannedBy } : {}) };
  if (mode === 'reroute') {
    // A re-route's records are its queues' (pass-record.ts); another key there is none of its own.
    const queues = Buffer.from(`${source.keys.prefix}sidekiq-migrate:${planner.runId}:originals:queue:`, 'utf8');
    return forgetOlderPasses(source.redis, source.keys.prefix, owner, passes.filter((k) => queues.compare(k, 0, queues.length) === 0));
  }
  if (!target) return forgetOlderTransferPasses(source.redis, source.keys.prefix, owner, passes);
  // The ledgers first, then only the counts beside a settled one: killed in between, the count
  // stays, and the next plan's walk finds it again (a ledger is never left without a TTL and
  // without a count on the source to find it by).
  const head = Buffer.from(`${source.keys.prefix}sidekiq-migrate:${planner.runId}:originals:`, 'utf8').length;
  const context = { source: source.redis, target: target.redis, sourceKeys: source.keys, targetKeys: target.keys, runId: planner.runId };
  const keyOf = (k: Buffer) => sourceKeyOf(k.subarray(head));
  const keys = [...new Set(passes.map(keyOf))];
  const settled = await retireRunLedgers(context, keys, DEFAULT_LEDGER_TTL_SECONDS);
  const done = new Set(keys.filter((_, i) => settled[i]));
  const deleted = await forgetOlderTransferPasses(source.redis, source.keys.prefix, owner, passes.filter((k) => done.has(keyOf(k))));
  return deleted;
}
