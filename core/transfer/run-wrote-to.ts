import { nameFromBytes } from '../redis/key-name.js';
import { SORTED_SET_NAMES } from '../redis/sidekiq-keys.js';
import type { Connection } from '../workflow/connections.js';
import { ledgerKey } from './transfer-keys.js';

/** Keys asked of the target in one EXISTS. */
const PER_CALL = 1000;

/**
 * Whether transfer `runId` wrote to `target`: it holds a ledger of the run for one of the source's
 * queues (its `queues`) or sorted sets. A ledger is written with the first job of its batch and
 * kept, without a TTL, until its set or queue is done (retire-ledger.ts); so a run that wrote
 * there and has not finished is found, with one EXISTS per thousand names (no walk of the
 * target's keyspace). Used where a run's record of its target is missing (an older version's).
 */
export async function runWroteTo(source: Connection, target: Connection, runId: string): Promise<boolean> {
  const queues = (await source.redis.smembersBuffer(source.keys.queues)).map((name) => `queue:${nameFromBytes(name)}`);
  const keys = [...queues, ...SORTED_SET_NAMES].map((sourceKey) => ledgerKey(target.keys.prefix, runId, sourceKey));
  for (let i = 0; i < keys.length; i += PER_CALL) {
    if ((await target.redis.exists(...keys.slice(i, i + PER_CALL))) > 0) return true;
  }
  return false;
}
