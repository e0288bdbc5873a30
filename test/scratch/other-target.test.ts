import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { runTransfer } from '../../core/transfer/run-transfer.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { LuaScript } from '../../core/redis/lua-script.js';
import { interferingRedis, SimulatedCrash } from '../support/interfering-redis.js';
import { privateSourceAndTarget, privateRedis } from '../support/private-redis.js';
import { jobsIn } from '../support/exact-jobs.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
const other = privateRedis();
describe('scratch', () => {
  it('resume to another target after a crash before the ack', async () => {
    const [source, targetA] = [redis.source(), redis.target()];
    const targetB = other.client();
    await source.sadd('queues', 'a');
    for (let i = 0; i < 3; i++) await source.lpush('queue:a', sidekiqPayload({ className: 'A', queue: 'a', args: `[${i}]` }));
    const ackSha = new LuaScript('acknowledgeQueueBatch-2').sha;
    const crashing = interferingRedis(source, (call) => { if (call.scripts.includes(ackSha) || (call.command === 'evalsha')) { /* */ } });
    const keys = new SidekiqKeys('');
    let crashed = false;
    const src = interferingRedis(source, (call) => { if (!crashed && call.scripts.some((s) => s === ackSha)) { crashed = true; throw new SimulatedCrash('x'); } });
    await runTransfer({ source: src, target: targetA, sourceKeys: keys, targetKeys: keys, runId: 'r1', dryRun: false, sets: [], queues: true, sliceSize: 100, lockTtlMs: 1 }).catch((e) => console.log('first:', e.message));
    console.log('A after crash', (await jobsIn(targetA)).length, 'source', (await jobsIn(source)).length, await source.keys('*'));
    await new Promise((r) => setTimeout(r, 50));
    const r2 = await runTransfer({ source, target: targetB, sourceKeys: keys, targetKeys: keys, runId: 'r2', dryRun: false, sets: [], queues: true, sliceSize: 100, lockTtlMs: 1000 }).catch((e) => e);
    console.log('second:', r2 instanceof Error ? r2.message : JSON.stringify(r2.totals));
    console.log('A', (await jobsIn(targetA)).length, 'B', (await jobsIn(targetB)).length, 'source', (await jobsIn(source)).length);
  });
});
