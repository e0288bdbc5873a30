import type { Redis, RedisKey } from 'ioredis';
import { RESERVED_RUN_IDS } from '../config/reserved-run-ids.js';
import { LuaScript } from '../redis/lua-script.js';
import type { PageLook } from '../redis/shared-walk.js';
import { runLockKey } from '../redis/run-lock.js';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';
import { parsedRecord, startedWithKey } from '../workflow/started-with.js';
import { sourceKeyOf } from './ledgers-left.js';
import { retireRunLedgers } from './retire-ledger.js';
import { inflightKey, originalsKey } from './transfer-keys.js';
import { DEFAULT_LEDGER_TTL_SECONDS } from './transfer-options.js';

const forgetScript = new LuaScript('forgetOtherRunsPasses-1');

/** A key as a script call takes it (a name that is not UTF-8 stays its bytes: key-name.ts). */
const asKey = (key: RedisKey): string | Buffer => (typeof key === 'string' || Buffer.isBuffer(key) ? key : Buffer.from(key));

/** Counts per call of forgetOtherRunsPasses-1.lua (each with its in-flight key: twice as many keys). */
const COUNTS_PER_CALL = 100;

/** Another run's pass counts on the source, by run id: the source keys they are of (`queue:NAME` lossless, `retry`). */
export type OtherRunsPasses = ReadonlyMap<string, readonly string[]>;

/**
 * Why: a transfer killed between two slices and then passed by (the runbook's way past a dead run:
 * run again once its lock expired, 20 minutes) left its pass's count of originals
 * (`<prefix>sidekiq-migrate:<dead>:originals:<key>`, transfer-keys.ts originalsKey, no expiry) for
 * every key whose pass it had begun. The last summary of the next run deleted those of keys the
 * dead run's ledgers name (ledgers-left.ts forgetPassesOf), but a `--classes` pass writes its count
 * with its first claim even when that claim takes nothing (claimSelectedQueueJobs-11.lua KEYS[6]; a
 * selective set pass keeps its bound before any claim: selective-set-transfer.ts startCursor): a
 * dead run whose window held no job of its classes left a count no ledger names, for good (1 of 4
 * takeover trials, bench/README.md audit-chaos). Looking for them at every summary would cost a
 * walk of the source's whole keyspace; the plan walks it anyway (plan-walk.ts), and this look rides
 * on that walk: every count of a run other than `runId`.
 */
export function otherRunsPassesLook(prefix: string, runId: string): PageLook & { found(): OtherRunsPasses } {
  const head = Buffer.from(`${prefix}sidekiq-migrate:`, 'utf8');
  const originals = Buffer.from(':originals:', 'utf8');
  const byRun = new Map<string, Map<string, string>>();
  return {
    heads: [head.toString('utf8')],
    onPage: (keys) => {
      for (const key of keys) {
        if (key.length <= head.length || head.compare(key, 0, head.length) !== 0) continue;
        // A run id has no `:` (transfer-keys.ts assertRunId): the first `:` after the head ends it,
        // and `:originals:` must follow (a quarantine list of a queue named `a:originals:b` is none).
        const end = key.indexOf(':', head.length);
        if (end < 0 || key.length <= end + originals.length || !key.subarray(end, end + originals.length).equals(originals)) continue;
        const run = key.subarray(head.length, end).toString('utf8');
        if (run === runId || RESERVED_RUN_IDS.has(run) || !/^[A-Za-z0-9_.-]{1,80}$/.test(run)) continue;
        const keysOf = byRun.get(run) ?? new Map<string, string>();
        keysOf.set(key.toString('latin1'), sourceKeyOf(key.subarray(end + originals.length)));
        byRun.set(run, keysOf);
      }
    },
    found: () => new Map([...byRun].map(([run, keysOf]) => [run, [...new Set(keysOf.values())]])),
  };
}

/**
 * The plan of a transfer that writes, holding the run's locks, after it finished every run's jobs
 * in flight (resume-inflight.ts): for each other run whose counts its walk found and whose
 * started-with record on this source names this target (its ledgers are here: a run to another
 * target is left to a run to that one; a record gone or of an older version names none: left as
 * before), first retires that run's ledgers of those keys the usual safe way (retire-ledger.ts:
 * only with nothing of it in flight), then deletes each count whose ledger is settled (none, or
 * with its TTL) and beside which nothing of the run is in flight, in one step per hundred guarded
 * by the lock (forgetOtherRunsPasses-1.lua: only while it is still this start's, exactly). In that
 * order, so that a kill in between leaves the count, which the next plan's walk finds again: the
 * ledger is never left without a TTL and without a count on the source to find it by. Returns how
 * many counts it deleted.
 */
export async function forgetOtherRunsPasses(
  context: { readonly source: Redis; readonly target: Redis; readonly sourceKeys: SidekiqKeys; readonly targetKeys: SidekiqKeys; readonly targetId: string },
  owner: { readonly runId: string; readonly plannedAt: number; readonly plannedBy?: string },
  found: OtherRunsPasses,
): Promise<number> {
  const runs = [...found.keys()].filter((run) => run !== owner.runId);
  if (runs.length === 0) return 0;
  const records = await context.source.mget(...runs.map((run) => startedWithKey(context.sourceKeys.prefix, run)));
  let deleted = 0;
  for (const [i, run] of runs.entries()) {
    const started = parsedRecord(records[i] ?? null);
    if (started?.mode !== 'transfer' || started.target !== context.targetId) continue;
    const sourceKeys = found.get(run)!;
    const settled = await retireRunLedgers({ ...context, runId: run }, sourceKeys, DEFAULT_LEDGER_TTL_SECONDS);
    const forget = sourceKeys.filter((_, k) => settled[k]);
    for (let k = 0; k < forget.length; k += COUNTS_PER_CALL) {
      const keys: (string | Buffer)[] = [runLockKey(context.sourceKeys.prefix)];
      for (const key of forget.slice(k, k + COUNTS_PER_CALL)) keys.push(asKey(originalsKey(context.sourceKeys.prefix, run, key)), asKey(inflightKey(context.sourceKeys.prefix, run, key)));
      const reply = (await forgetScript.run(context.source, { keys, args: [owner.runId, owner.plannedAt, owner.plannedBy ?? ''] })) as [number, number?];
      if (reply[0] !== 1) return deleted;
      deleted += reply[1] ?? 0;
    }
  }
  return deleted;
}
