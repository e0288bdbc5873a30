import type { Redis } from 'ioredis';
import { scanBounded, type ScanBound } from '../redis/bounded-scan.js';
import { nameFromBytes } from '../redis/key-name.js';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';
import { escapeGlob } from '../reroute/discover-queues.js';
import { retireRunLedgers } from './retire-ledger.js';
import { DEFAULT_LEDGER_TTL_SECONDS } from './transfer-options.js';

/**
 * Why: a ledger gets its time to live when its item ends (add-up-step.ts retireEndedLedgers). A
 * transfer killed after a pass's last acknowledge and before its batch was added up leaves the
 * ledger without one; when the queue is empty by then, the resumed run has no item for it (its
 * plan lists the queue lists that exist), and the ledger stayed on the target with no expiry.
 *
 * The last execution of a resumed run (RunSettings.startedBefore), its lock still held, looks for
 * the run's ledgers on the target (one SCAN MATCH, bounded by `bound`: a look cut short leaves
 * what it did not reach, as before) and retires them the usual way (retire-ledger.ts: only a
 * ledger with no TTL whose source key has nothing of the run in flight, in three steps that never
 * give a TTL to one a copy still writes). Returns how many ledgers it looked at.
 */
export async function retireLedgersLeft(
  context: { readonly source: Redis; readonly target: Redis; readonly sourceKeys: SidekiqKeys; readonly targetKeys: SidekiqKeys; readonly runId: string },
  bound: ScanBound,
): Promise<number> {
  const head = Buffer.from(`${context.targetKeys.prefix}sidekiq-migrate:${context.runId}:ledger:`, 'utf8');
  const found = new Map<string, string>();
  await scanBounded(context.target, `${escapeGlob(head.toString('utf8'))}*`, bound, (keys) => {
    for (const key of keys) if (key.subarray(0, head.length).equals(head)) found.set(key.toString('latin1'), sourceKeyOf(key.subarray(head.length)));
  });
  if (found.size > 0) await retireRunLedgers(context, [...found.values()], DEFAULT_LEDGER_TTL_SECONDS);
  return found.size;
}

/** The source key a ledger (or a pass count: originalsKey) is named for, from the tail of its name (transfer-keys.ts ledgerKey): `queue:NAME`, the name lossless (key-name.ts), or a set's name. */
export function sourceKeyOf(tail: Buffer): string {
  const queue = Buffer.from('queue:', 'utf8');
  return tail.subarray(0, queue.length).equals(queue) ? `queue:${nameFromBytes(tail.subarray(queue.length))}` : tail.toString('utf8');
}
