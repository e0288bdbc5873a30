// docs/runbooks/redis-move.md's `leftovers` check lists every key the tool left on each side, by
// kind, and its table *What a transfer leaves behind* says what each kind is and what to do. The
// table named only what a complete transfer leaves: an interrupted one's short-lived keys (the
// batch id beside an in-flight key, a set slice's seal, a claim chain, a batch's acknowledged
// entries, conflicts, page receipts…) were named nowhere. Here: every key family the code builds
// is a row (static), and a transfer stopped before each of its Redis calls in turn leaves only
// kinds the check prints as the table names them, each on the side the table says.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { pageReceiptsKey } from '../../core/workflow/page-receipt.js';
import { rememberedCheckKey } from '../../core/drain/remembered-check.js';
import { movesKey } from '../../core/reroute/move-record.js';
import { rewrittenEntriesKey } from '../../core/reroute/rewritten-entries.js';
import { runEndedExecutionKey, runLockKey, runStopMarkerKey } from '../../core/redis/run-lock.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { targetIdKey } from '../../core/transfer/target-identity.js';
import { ledgerIndexKey } from '../../core/transfer/ledger-index.js';
import { inflightIndexKey } from '../../core/transfer/inflight-index.js';
import { passKey } from '../../core/reroute/pass-record.js';
import { acknowledgedKey, batchKey, claimChainKey, conflictsKey, inflightKey, inflightSealKey, ledgerKey, originalsKey } from '../../core/transfer/transfer-keys.js';
import type { Connection, ConnectionProvider } from '../../core/workflow/connections.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { runExecutionsKey } from '../../core/workflow/run-executions.js';
import { endedQueuesKey } from '../../core/workflow/ended-queues.js';
import { runFinishKey } from '../../core/workflow/run-finish-record.js';
import { startedWithKey } from '../../core/workflow/started-with.js';
import { rolledBackKey } from '../../core/workflow/rolled-back.js';
import { storedRoutingKey } from '../../core/workflow/stored-routing.js';
import { storedSelectionKey } from '../../core/workflow/stored-selection.js';
import { workListKey } from '../../core/workflow/work-list.js';
import { runWorkflowLocally } from '../../infra/local/run-workflow-locally.js';
import { interferingRedis, SimulatedCrash } from '../support/interfering-redis.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { connectionsPerTest } from '../support/test-connections.js';
import { kindOf, leftoverTable, printedKinds } from './support/leftover-table.js';
import { blocksOf } from './support/runbook-walk.js';
import { prepareWorkDir, runShellBlock } from './support/run-shell-block.js';

const NS = 'resque:gitlab:';
const redis = privateSourceAndTarget();
const { closedAfterTest } = connectionsPerTest(redis);
/** Both servers under the GitLab prefix, as the runbook's transfer sees them. */
const connect = () => closedAfterTest(new UrlConnections({ source: { url: redis.urls().source, prefix: NS }, target: { url: redis.urls().target, prefix: NS } }));

describe("redis-move.md's table of what a transfer leaves behind", () => {
  it('names every key family the code builds, on the side the code writes it', () => {
    const keys = new SidekiqKeys(NS);
    const run = 'transfer-20261123-204512-3f9a';
    const built: [string, 'old' | 'new' | 'both'][] = [
      [String(inflightKey(NS, run, 'queue:default')), 'old'],
      [String(batchKey(NS, run, 'queue:default')), 'old'],
      [String(acknowledgedKey(NS, run, 'retry')), 'old'],
      [String(inflightSealKey(NS, run, 'retry')), 'old'],
      [String(claimChainKey(NS, run, 'queue:default')), 'old'],
      [String(conflictsKey(NS, run, 'retry')), 'old'],
      [String(originalsKey(NS, run, 'queue:default')), 'old'],
      // A re-route's queue pass keeps its record under the same family (core/reroute/pass-record.ts).
      [String(passKey(NS, { runId: run }, 'default')), 'old'],
      [String(ledgerKey(NS, run, 'queue:default')), 'new'],
      [targetIdKey(keys), 'new'],
      [ledgerIndexKey(NS), 'new'],
      // The old Redis's while in-flight keys are named there; the new Redis's mark once a summary walked it.
      [inflightIndexKey(NS), 'both'],
      [runLockKey(NS), 'both'],
      [runStopMarkerKey(NS, run), 'both'],
      [runEndedExecutionKey(NS, run, 'arn:aws:states:us-east-1:123456789012:execution:sidekiq-migrate:3f9a'), 'both'],
      [workListKey(NS, run), 'old'],
      [runExecutionsKey(NS, run), 'old'],
      [endedQueuesKey(NS, run), 'old'],
      [storedRoutingKey(NS, run), 'old'],
      [storedSelectionKey(NS, run), 'old'],
      [startedWithKey(NS, run), 'old'],
      [pageReceiptsKey(NS, run), 'old'],
      [runFinishKey(NS, run), 'old'],
      [rememberedCheckKey(NS, undefined), 'old'],
      [String(keys.quarantine('removed_worker')), 'old'],
      [movesKey(NS, run), 'old'],
      [rolledBackKey(NS, run), 'old'],
      [rewrittenEntriesKey(NS, run, 'retry'), 'old'],
    ];
    const table = leftoverTable();
    for (const [key, where] of built) expect({ key, row: table.get(kindOf(NS, key))?.where }).toEqual({ key, row: where });
    // Every row is a kind some key builder makes: the table names nothing that does not exist.
    expect(new Set(built.map(([key]) => kindOf(NS, key)))).toEqual(new Set(table.keys()));
  });
});

/** The source's queue and sets, of A jobs: several slices each. */
async function seed(source: Redis): Promise<void> {
  for (let i = 0; i < 8; i++) await source.lpush(`${NS}queue:default`, sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]` }));
  await source.sadd(`${NS}queues`, 'default');
  for (const set of ['schedule', 'retry']) for (let i = 0; i < 8; i++) await source.zadd(`${NS}${set}`, String(1795459303 + i), sidekiqPayload({ className: 'A', queue: 'default', args: `["${set}",${i}]` }));
  // The same entry already on the target: given back as a conflict.
  const twice = sidekiqPayload({ className: 'A', queue: 'default', jid: 'c0c0c0c0c0c0c0c0c0c0c0c0', args: '[1]' });
  await source.zadd(`${NS}retry`, '1795459400', twice);
  await redis.target().zadd(`${NS}retry`, '1795459400', twice);
}

/** A provider whose clients, on both sides, fail every call from the `crashAt`-th on: the process died there. */
function diesAt(provider: ConnectionProvider, crashAt: number): ConnectionProvider {
  let index = 0;
  const dead = () => {
    if (index++ >= crashAt) throw new SimulatedCrash(`died before call ${crashAt}`);
  };
  return { ...provider, get: async (name: string): Promise<Connection> => { const c = await provider.get(name); return { ...c, redis: interferingRedis(c.redis, dead) }; } };
}

describe("redis-move.md's leftovers check after a transfer that died before each of its Redis calls", () => {
  it('prints every key left on each side by a kind of the table, on the side the table names, and nothing unknown', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leftover-kinds-'));
    const { bin } = prepareWorkDir(dir);
    const envFile = join(dir, 'env.sh');
    writeFileSync(envFile, `export OLD_REDIS=${JSON.stringify(redis.urls().source)}\nexport NEW_REDIS=${JSON.stringify(redis.urls().target)}\nexport NS='${NS}'\n`);
    const block = blocksOf('redis-move.md').find((b) => b.id === 'leftovers')!;
    const table = leftoverTable();
    const seen = new Set<string>();
    let completed = false;
    for (let crashAt = 0; crashAt < 600 && !completed; crashAt += 1) {
      await redis.source().flushall();
      await redis.target().flushall();
      await seed(redis.source());
      const executions = await runWorkflowLocally({ runId: `died-${crashAt}`, mode: 'transfer', target: 'target', pageSize: 3, sets: ['schedule', 'retry'] }, localTaskHandlers(diesAt(connect(), crashAt)), { retryIntervalMs: 0 });
      completed = executions.every((e) => e.error === undefined);
      const left: { side: 'old' | 'new'; kind: string }[] = [];
      for (const [side, client] of [['old', redis.source()], ['new', redis.target()]] as const) for (const key of await client.keys(`${NS}sidekiq-migrate:*`)) left.push({ side, kind: kindOf(NS, key) });
      const fresh = left.filter((l) => !seen.has(`${l.side} ${l.kind}`));
      if (fresh.length === 0) continue;
      // A kind not met before: the check, as the runbook runs it, names it as the table does.
      const result = await runShellBlock(block.code, { dir, envFile, bin, env: {} });
      expect(result.exitCode, result.stderr).toBe(0);
      const printed = printedKinds(result.stdout);
      expect(new Set(printed.map((p) => `${p.side} ${p.kind}`))).toEqual(new Set(left.map((l) => `${l.side} ${l.kind}`)));
      for (const { side, kind } of printed) expect({ kind, side, where: [side, 'both'].includes(table.get(kind)?.where ?? '') }).toEqual({ kind, side, where: true });
      for (const l of left) seen.add(`${l.side} ${l.kind}`);
    }
    expect(completed).toBe(true);
    // What an interrupted transfer leaves was met, and checked, on the way.
    expect([...seen]).toEqual(expect.arrayContaining(['old sidekiq-migrate:<run>:inflight:…', 'old sidekiq-migrate:<run>:batch:…', 'new sidekiq-migrate:<run>:ledger:…', 'old sidekiq-migrate:lock', 'new sidekiq-migrate:lock', 'old sidekiq-migrate:<run>:items', 'old sidekiq-migrate:<run>:seal:…', 'old sidekiq-migrate:<run>:conflicts:…', 'old sidekiq-migrate:<run>:page-receipts']));
  }, 600_000);
});
