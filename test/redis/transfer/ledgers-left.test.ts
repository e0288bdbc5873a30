// A resumed move's last summary retires the run's ledgers an earlier start left without a TTL
// (core/transfer/ledgers-left.ts: a pass ended, its batch never added up, its queue empty since:
// no item of the resumed start retires it; test/workflow/cli-move-killed-at-pass-end.test.ts at the
// CLI). Only through retire-ledger.ts: a ledger whose source key still has jobs of the run in
// flight keeps no TTL; a queue name that is not UTF-8 finds its in-flight key by its exact bytes (lossless names);
// another run's ledgers and other keys untouched.
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { retireLedgersLeft } from '../../../core/transfer/ledgers-left.js';
import { keyValueSnapshot } from '../../support/exact-jobs.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';

const redis = privateSourceAndTarget();

describe('retireLedgersLeft', () => {
  it('gives the run\'s ledgers with nothing in flight their TTL; keeps none on one whose key has jobs in flight', async () => {
    const [source, target] = [redis.source(), redis.target()];
    const [odd, oddBusy] = [Buffer.from([0x71, 0xff, 0x3a]), Buffer.from([0x72, 0xfe])];
    const oddLedger = (name: Buffer) => Buffer.concat([Buffer.from('t:sidekiq-migrate:r1:ledger:queue:'), name]);
    await target.hset('t:sidekiq-migrate:r1:ledger:queue:done', 'b1', '3');
    await target.sadd('t:sidekiq-migrate:r1:ledger:retry', 'b2:aa');
    await target.hset(oddLedger(odd), 'b3', '1');
    await target.hset(oddLedger(oddBusy), 'b7', '1');
    await target.hset('t:sidekiq-migrate:r1:ledger:queue:busy', 'b4', '2');
    await source.rpush('s:sidekiq-migrate:r1:inflight:queue:busy', 'job');
    // Jobs in flight from a queue whose name is not UTF-8: found only by the name's exact bytes.
    await source.rpush(Buffer.concat([Buffer.from('s:sidekiq-migrate:r1:inflight:queue:'), oddBusy]), 'job');
    await target.hset('t:sidekiq-migrate:r1:ledger:queue:also-done', 'b6', '1');
    await target.hset('t:sidekiq-migrate:r2:ledger:queue:done', 'b5', '1');
    await target.rpush('t:queue:done', 'job');
    const context = { source, target, sourceKeys: new SidekiqKeys('s:'), targetKeys: new SidekiqKeys('t:'), runId: 'r1' };
    const sourceBefore = await keyValueSnapshot(source);

    expect((await retireLedgersLeft(context, {})).looked).toBe(6);

    for (const key of ['t:sidekiq-migrate:r1:ledger:queue:done', 't:sidekiq-migrate:r1:ledger:queue:also-done', 't:sidekiq-migrate:r1:ledger:retry']) expect(await target.ttl(key), key).toBeGreaterThan(0);
    expect(await target.ttl(oddLedger(odd))).toBeGreaterThan(0);
    expect(await target.ttl(oddLedger(oddBusy))).toBe(-1);
    expect(await target.ttl('t:sidekiq-migrate:r1:ledger:queue:busy')).toBe(-1);
    expect(await target.ttl('t:sidekiq-migrate:r2:ledger:queue:done')).toBe(-1);
    expect(await target.ttl('t:queue:done')).toBe(-1);
    expect(await keyValueSnapshot(source)).toEqual(sourceBefore);
  });

  it("another run's ledgers (and its idle passes' counts) only when that run was a transfer out of this source (its started-with record here), and only those with nothing of it in flight", async () => {
    const [source, target] = [redis.source(), redis.target()];
    // r3: a dead run out of this source whose leftover this run finished (killed before retiring its ledger).
    await source.set('s:sidekiq-migrate:r3:started-with', '{}', 'EX', 3600);
    await target.hset('t:sidekiq-migrate:r3:ledger:queue:done', 'b1', '3');
    await target.hset('t:sidekiq-migrate:r3:ledger:queue:busy', 'b2', '2');
    await source.rpush('s:sidekiq-migrate:r3:inflight:queue:busy', 'job');
    // Its passes' counts: the idle one's goes, the busy one's stays (its pass is still to finish).
    await source.set('s:sidekiq-migrate:r3:originals:queue:done', '5');
    await source.set('s:sidekiq-migrate:r3:originals:queue:busy', '6');
    await source.set('s:sidekiq-migrate:r4:originals:queue:done', '7');
    // r4: a transfer from another source into the same target: its in-flight keys are not here to look at.
    await target.hset('t:sidekiq-migrate:r4:ledger:queue:done', 'b3', '1');
    // A quarantine list of a queue named `a:ledger:b`, and the run's own ledger.
    await target.rpush('t:sidekiq-migrate:quarantine:a:ledger:b', 'job');
    await target.hset('t:sidekiq-migrate:r1:ledger:queue:done', 'b4', '1');
    const context = { source, target, sourceKeys: new SidekiqKeys('s:'), targetKeys: new SidekiqKeys('t:'), runId: 'r1' };
    const sourceBefore = await keyValueSnapshot(source);
    delete sourceBefore['s:sidekiq-migrate:r3:originals:queue:done'];

    expect((await retireLedgersLeft(context, {})).looked).toBe(3);

    expect(await target.ttl('t:sidekiq-migrate:r3:ledger:queue:done')).toBeGreaterThan(0);
    expect(await target.ttl('t:sidekiq-migrate:r1:ledger:queue:done')).toBeGreaterThan(0);
    expect(await target.ttl('t:sidekiq-migrate:r3:ledger:queue:busy')).toBe(-1);
    expect(await target.ttl('t:sidekiq-migrate:r4:ledger:queue:done')).toBe(-1);
    expect(await target.ttl('t:sidekiq-migrate:quarantine:a:ledger:b')).toBe(-1);
    expect(await keyValueSnapshot(source)).toEqual(sourceBefore);
  });
});
