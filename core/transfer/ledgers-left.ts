import type { Redis } from 'ioredis';
import { RESERVED_RUN_IDS } from '../config/reserved-run-ids.js';
import { scanBounded, type ScanBound, type ScanExtent } from '../redis/bounded-scan.js';
import { nameFromBytes } from '../redis/key-name.js';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';
import { escapeGlob } from '../reroute/discover-queues.js';
import { startedWithKey } from '../workflow/started-with.js';
import { LEDGERS_WALKED, ledgerIndexKey, readLedgerIndex } from './ledger-index.js';
import { retireRunLedgers } from './retire-ledger.js';
import { inflightKey, originalsKey } from './transfer-keys.js';
import { DEFAULT_LEDGER_TTL_SECONDS } from './transfer-options.js';

/**
 * Why: a ledger gets its time to live when its item ends (add-up-step.ts retireEndedLedgers). A
 * transfer killed after a pass's last acknowledge and before its batch was added up leaves the
 * ledger without one; when the queue is empty by then, the resumed run has no item for it (its
 * plan lists the queue lists that exist), and the ledger stayed on the target with no expiry.
 * The same for the ledger of another run whose jobs in flight this run finished (a dead run whose
 * lock expired, resume-inflight.ts): that ledger's time to live is given right after the
 * acknowledge, its own round trip, and a kill in between left it with none, the in-flight key
 * gone, so no later run found it (cli-move-killed-finishing-another-run.test.ts).
 *
 * The last execution of a transfer run (a first start too: its plan may be the one killed while
 * it finished another run's jobs in flight), its lock still held, finds the transfers' ledgers on
 * the target that may have no TTL in the target's index of them (ledger-index.ts: one SMEMBERS,
 * however many other keys the target holds) and retires them the usual way (retire-ledger.ts:
 * only a ledger with no TTL whose source key has nothing of its run in flight, in three steps that
 * never give a TTL to one a copy still writes; each one with a TTL, or gone, leaves the index):
 * this run's, and another run's only when that run's started-with record is on this source (it
 * was a transfer out of this source, so its in-flight keys are here to look at; a ledger of a
 * transfer from another source into the same target is left alone, and stays in the index). And
 * such another run's pass counts where nothing of it is in flight (forgetPassesOf).
 *
 * An index without its mark (a target an older version wrote ledgers to, which named none there,
 * or one that lost the index) is not all there is: then one SCAN MATCH of the keyspace as before,
 * bounded by `bound` (a look cut short leaves what it did not reach, as before, and leaves the
 * mark off: the next last execution walks again), which names every ledger it finds in the index
 * and, once it reached the end of the keyspace, marks it (every ledger since is named by its
 * copy). Returns how many ledgers it looked at, and whether it walked the keyspace.
 */
export async function retireLedgersLeft(
  context: { readonly source: Redis; readonly target: Redis; readonly sourceKeys: SidekiqKeys; readonly targetKeys: SidekiqKeys; readonly runId: string },
  bound: ScanBound,
): Promise<{ looked: number; walked?: ScanExtent }> {
  const head = Buffer.from(`${context.targetKeys.prefix}sidekiq-migrate:`, 'utf8');
  const ledger = Buffer.from(':ledger:', 'utf8');
  const byRun = new Map<string, Map<string, string>>();
  let looked = 0;
  const take = (keys: readonly Buffer[]) => {
    for (const key of keys) {
      if (!key.subarray(0, head.length).equals(head)) continue;
      // A run id has no `:` (run-options.ts): the first `:` after the head ends it, and `:ledger:`
      // must follow it (a quarantine list of a queue named `a:ledger:b` is no ledger).
      const end = key.indexOf(':', head.length);
      if (end < 0 || !key.subarray(end, end + ledger.length).equals(ledger)) continue;
      const runId = key.subarray(head.length, end).toString('utf8');
      if (RESERVED_RUN_IDS.has(runId)) continue;
      const ledgers = byRun.get(runId) ?? new Map<string, string>();
      ledgers.set(key.toString('latin1'), sourceKeyOf(key.subarray(end + ledger.length)));
      byRun.set(runId, ledgers);
    }
  };
  const indexKey = ledgerIndexKey(context.targetKeys.prefix);
  const index = await readLedgerIndex(context.target, context.targetKeys.prefix);
  take(index.names);
  let walked: ScanExtent | undefined;
  if (!index.walked) {
    const found: Buffer[] = [];
    walked = await scanBounded(context.target, `${escapeGlob(head.toString('utf8'))}*:ledger:*`, bound, (keys) => {
      found.push(...keys);
    });
    take(found);
    // Named before the mark: a ledger found here is in the index before the index says it is whole
    // (one with a TTL, named here, is taken out again by its next look: retireLedger-4.lua).
    // Best effort: a target that refuses them (full: noeviction at its maxmemory, where a move that
    // filled it ends; it still takes the retirement's EXPIRE and SREM) failed the summary before any
    // ledger got its TTL (ledgers-left-full-target.test.ts). Not marked, the next look walks again.
    const ledgers = [...byRun.values()].flatMap((m) => [...m.keys()].map((k) => Buffer.from(k, 'latin1')));
    try {
      for (let i = 0; i < ledgers.length; i += 1000) await context.target.sadd(indexKey, ...ledgers.slice(i, i + 1000));
      if (walked.cutShort === undefined) await context.target.sadd(indexKey, LEDGERS_WALKED);
    } catch {
      // Not marked.
    }
  }
  const others = [...byRun.keys()].filter((runId) => runId !== context.runId);
  const pipeline = context.source.pipeline();
  for (const runId of others) pipeline.exists(startedWithKey(context.sourceKeys.prefix, runId));
  const replies = others.length > 0 ? ((await pipeline.exec()) ?? []) : [];
  const fromHere = new Set(others.filter((_, i) => replies[i]?.[0] === null && replies[i]?.[1] === 1));
  for (const [runId, ledgers] of byRun) {
    if (runId !== context.runId && !fromHere.has(runId)) continue;
    looked += ledgers.size;
    const keys = [...ledgers.values()];
    const settled = await retireRunLedgers({ ...context, runId }, keys, DEFAULT_LEDGER_TTL_SECONDS);
    // Only beside a settled ledger: a count is what the next plan finds a ledger without a TTL by (other-runs-passes.ts).
    if (runId !== context.runId) await forgetPassesOf({ ...context, runId }, keys.filter((_, i) => settled[i]));
  }
  return walked === undefined ? { looked } : { looked, walked };
}

/**
 * Another run's counts of its passes' originals (`<run>:originals:<key>`, no expiry) over the source
 * keys its ledgers name, where nothing of it is in flight: that run is over (this run holds the
 * lock) and so are its passes. A run killed between two batches and never resumed (the runbook's
 * way past a dead run: run again once its lock expired) left one per key it was working on, for
 * good: 5 of 6 random trials of that way left one (bench/README.md, audit-chaos). Resumed later
 * after all (`--run-id`), its next pass counts again from its first claim.
 */
async function forgetPassesOf(context: { readonly source: Redis; readonly sourceKeys: SidekiqKeys; readonly runId: string }, sourceKeys: readonly string[]): Promise<void> {
  if (sourceKeys.length === 0) return;
  const look = context.source.pipeline();
  for (const key of sourceKeys) look.exists(inflightKey(context.sourceKeys.prefix, context.runId, key));
  const replies = (await look.exec()) ?? [];
  const idle = sourceKeys.filter((_, i) => replies[i]?.[0] === null && replies[i]?.[1] === 0);
  if (idle.length > 0) await context.source.del(...idle.map((key) => originalsKey(context.sourceKeys.prefix, context.runId, key)));
}

/** The source key a ledger (or a pass count: originalsKey) is named for, from the tail of its name (transfer-keys.ts ledgerKey): `queue:NAME`, the name lossless (key-name.ts), or a set's name. */
export function sourceKeyOf(tail: Buffer): string {
  const queue = Buffer.from('queue:', 'utf8');
  return tail.subarray(0, queue.length).equals(queue) ? `queue:${nameFromBytes(tail.subarray(queue.length))}` : tail.toString('utf8');
}
