// The last execution of every transfer retires the ledgers other (dead) runs out of the same source
// left on the target without an expiry (core/transfer/ledgers-left.ts). It found them with a SCAN
// of the target's whole keyspace: on a shared Redis with millions of other keys (caches, sessions)
// that added seconds to every run's summary (4 s a million keys, 15–28 s at 5 million here,
// bench/README.md audit-sumscan), and in a Lambda its share of the summary's time cut it short,
// silently leaving those ledgers. Now the copy scripts name each ledger in the target's index of
// ledgers (`sidekiq-migrate:ledgers`, core/transfer/ledger-index.ts) in the call that writes it,
// and the summary reads the index; a target whose index lacks the mark that one walk found every
// ledger there (an older version wrote ledgers to it) is walked once, as before.
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { retireLedgersLeft } from '../../core/transfer/ledgers-left.js';
import { spawnCli as cli } from '../support/cli-child.js';
import { cliKilledAtCommand } from '../support/cli-killed-at-command.js';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { expireLocks } from '../support/lock-state.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { countingCommands } from '../support/recording-redis.js';
import { monitorCommands, unrelatedKeys } from '../support/shared-keyspace.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
const INDEX = 'sidekiq-migrate:ledgers';
const COMPLETE = 'Complete: everything that could be moved was moved.';

const queued = (n: number, from = 0) => Array.from({ length: n }, (_, i) => sidekiqPayload({ className: 'A', queue: 'a', args: `[${from + i}]` }));

describe("the summary finds other runs' ledgers in the target's index, not by walking its keyspace", { timeout: 300_000 }, () => {
  it('a dead run killed at the end of a pass before its ledger is retired, the ledger without an expiry, on a target with 20,000 other keys: the next move retires it from the index, no SCAN for ledgers, every job once, Complete', async () => {
    const [source, target] = [redis.source(), redis.target()];
    const { source: from, target: to } = redis.urls();
    const args = ['move', '--from', from, '--to', to, '--page-size', '2'];
    // An earlier complete move: its summary walked the target once (no index mark yet) and marked it.
    const first = queued(3);
    for (const p of first) await source.lpush('queue:a', p);
    await source.sadd('queues', 'a');
    const warm = await cli(...args);
    expect(warm.stdout.trimEnd().split('\n').at(-1), warm.stderr).toBe(COMPLETE);
    expect(await target.smembers(INDEX)).toEqual(['walked']);

    // The dead run: every batch written and acknowledged, killed before the first step of its
    // ledger's retire (a pass retires its ledger before its count goes: retire-ledger.ts).
    const second = queued(7, 100);
    for (const p of second) await source.lpush('queue:a', p);
    const killed = await cliKilledAtCommand('^evalsha$', ['^sidekiq-migrate:transfer-[\\w-]+:ledger:queue:a$', '^look$'], ...args);
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    const dead = /"runId":"([\w-]+)"/.exec((await source.get('sidekiq-migrate:lock'))!)![1]!;
    const deadLedger = `sidekiq-migrate:${dead}:ledger:queue:a`;
    expect(await target.ttl(deadLedger)).toBe(-1);
    // Named in the index by the copy that wrote it.
    expect((await target.smembers(INDEX)).sort()).toEqual([deadLedger, 'walked']);
    await expireLocks(source, target);

    await unrelatedKeys(target, 20_000);
    const third = queued(4, 200);
    for (const p of third) await source.lpush('queue:a', p);
    const seen = await monitorCommands(to);
    const again = await cli(...args);
    const commands = seen.stop();

    expect(again.stdout.trimEnd().split('\n').at(-1), again.stderr).toBe(COMPLETE);
    expect(again.code).toBe(0);
    expect(await jobsIn(source)).toEqual([]);
    const onTarget = (await jobsIn(target)).filter((k) => !k.startsWith('cache:'));
    expect(onTarget).toEqual([...first, ...second, ...third].map((p) => jobEntry('queue:a', p)).sort());
    expect(await target.dbsize()).toBe(20_000 + (await target.keys('sidekiq-migrate:*')).length + (await target.keys('queue*')).length);
    // The dead run's ledger expires now; the index names no ledger, only its mark.
    expect(await target.ttl(deadLedger)).toBeGreaterThan(0);
    expect(await target.smembers(INDEX)).toEqual(['walked']);
    // Read from the index; the keyspace never walked for ledgers.
    expect(commands.filter((c) => c[0]?.toLowerCase() === 'smembers' && c[1] === INDEX).length).toBe(1);
    expect(commands.filter((c) => c[0]?.toLowerCase() === 'scan' && c.some((a) => a.includes(':ledger:')))).toEqual([]);
  });

  it("ledgers an older version wrote (in no index): the first summary walks the keyspace, retires the dead run's out of this source, names the other source's in the index, and marks it", async () => {
    const [source, target] = [redis.source(), redis.target()];
    const { source: from, target: to } = redis.urls();
    // A dead run out of this source (its started-with record here), and one out of another source into the same target.
    await target.hset('sidekiq-migrate:old-run:ledger:queue:a', 'b1', '3');
    await source.set('sidekiq-migrate:old-run:started-with', JSON.stringify({ mode: 'transfer', routing: null, classes: null }));
    await target.hset('sidekiq-migrate:elsewhere:ledger:queue:b', 'b1', '2');
    const jobs = queued(5);
    for (const p of jobs) await source.lpush('queue:a', p);
    await source.sadd('queues', 'a');

    const run = await cli('move', '--from', from, '--to', to, '--page-size', '2');

    expect(run.stdout.trimEnd().split('\n').at(-1), run.stderr).toBe(COMPLETE);
    expect(await jobsIn(source)).toEqual([]);
    expect((await jobsIn(target)).filter((k) => k.startsWith('queue:a'))).toEqual(jobs.map((p) => jobEntry('queue:a', p)).sort());
    expect(await target.ttl('sidekiq-migrate:old-run:ledger:queue:a')).toBeGreaterThan(0);
    // Another source's run's ledger is left alone, but named, so that the index is whole with its mark.
    expect(await target.ttl('sidekiq-migrate:elsewhere:ledger:queue:b')).toBe(-1);
    expect((await target.smembers(INDEX)).sort()).toEqual(['sidekiq-migrate:elsewhere:ledger:queue:b', 'walked']);
  });

  it('the work of retiring ledgers left does not grow with the target\'s other keys: the same commands with 0 and 30,000 of them', async () => {
    const [source, target] = [redis.source(), redis.target()];
    const keys = new SidekiqKeys('');
    const sent: string[][] = [];
    for (const others of [0, 30_000]) {
      await Promise.all([source.flushall(), target.flushall()]);
      await unrelatedKeys(target, others);
      // A dead run's ledger (no expiry, named in the index as its copy names it, nothing in flight) and its record here.
      await target.hset('sidekiq-migrate:dead-run:ledger:queue:a', 'b1', '3');
      await target.sadd(INDEX, 'walked', 'sidekiq-migrate:dead-run:ledger:queue:a');
      await source.set('sidekiq-migrate:dead-run:started-with', '{}');
      await source.set('sidekiq-migrate:dead-run:originals:queue:a', '0 1');
      const counting = countingCommands(target);
      const result = await retireLedgersLeft({ source, target, sourceKeys: keys, targetKeys: keys, runId: 'this-run' }, {});
      sent.push(counting.stop());
      expect(result).toEqual({ looked: 1 });
      expect(await target.ttl('sidekiq-migrate:dead-run:ledger:queue:a')).toBeGreaterThan(0);
      expect(await target.smembers(INDEX)).toEqual(['walked']);
      expect(await source.exists('sidekiq-migrate:dead-run:originals:queue:a')).toBe(0);
    }
    expect(sent[1]).toEqual(sent[0]);
    expect(sent[0]!.filter((c) => c.startsWith('SCAN'))).toEqual([]);
    expect(sent[0]!.length).toBeLessThan(10);
  });
});
