/**
 * How big a source's index of in-flight keys (core/transfer/inflight-index.ts) gets in a transfer,
 * and what its readers pay for it, against a throwaway redis-server you start (its URL first; it is
 * flushed). Uses the transfer's own calls and key names (claimQueueSlice, acknowledgeQueueJobs,
 * inflightKey), a slice of one job each:
 *
 *  A. `slices` slices of ONE queue (a long run of many pages): the index's size after each ack.
 *  B. one slice of each of `queues` queues (a run of many queues): the index's size at the end, then
 *     what the summary's forgetGoneInflightKeys and a target look with the mark (lookForInflightKeys)
 *     cost over it (ms, calls).
 *  C. the first look at an unmarked Redis (lookForInflightKeys with no mark) over `unrelated` other
 *     keys: SCAN calls and ms; then the same look once marked.
 *
 *   npx tsx scripts/measure-inflight-index.ts redis://127.0.0.1:PORT [slices=10000] [queues=10000] [unrelated=1000000]
 */
import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { SidekiqKeys } from '../core/redis/sidekiq-keys.js';
import { acknowledgeQueueJobs } from '../core/transfer/acknowledge.js';
import { claimQueueSlice } from '../core/transfer/claim-calls.js';
import { forgetGoneInflightKeys, inflightIndexKey, lookForInflightKeys } from '../core/transfer/inflight-index.js';
import { newBatchId, parseBatch } from '../core/transfer/ledger-id.js';
import { batchKey, claimChainKey, inflightKey, originalsKey } from '../core/transfer/transfer-keys.js';

const [url, slicesArg, queuesArg, unrelatedArg] = process.argv.slice(2);
if (!url) throw new Error('usage: measure-inflight-index.ts redis://127.0.0.1:PORT [slices] [queues] [unrelated]');
const slices = Number(slicesArg ?? 10_000);
const queues = Number(queuesArg ?? 10_000);
const unrelated = Number(unrelatedArg ?? 1_000_000);
const RUN = 'transfer-measure';
const redis = new Redis(url, { protocol: 2 });
const keys = new SidekiqKeys('');
const index = inflightIndexKey('');

/** Every command Redis ran since the last CONFIG RESETSTAT, by name (INFO commandstats). */
async function commandCalls(): Promise<Record<string, number>> {
  const info = await redis.info('commandstats');
  const calls: Record<string, number> = {};
  for (const m of info.matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm)) calls[m[1]!] = Number(m[2]);
  return calls;
}

/** One slice of one job of `queue`, claimed and acknowledged as transferQueue does. */
async function slice(queue: string): Promise<void> {
  const sourceKey = `queue:${queue}`;
  const claimKeys = { queue: sourceKey, inflight: inflightKey('', RUN, sourceKey), batch: batchKey('', RUN, sourceKey), chain: claimChainKey('', RUN, sourceKey), stopMarker: 'stopped', lock: 'sidekiq-migrate:lock', originals: originalsKey('', RUN, sourceKey), inflightIndex: index };
  const claim = await claimQueueSlice(redis, claimKeys, { want: 1, newBatch: newBatchId(), runId: RUN, newest: false, remaining: await redis.llen(sourceKey) });
  const { id, base } = parseBatch(claim.stored);
  await acknowledgeQueueJobs(redis, claimKeys.inflight, claimKeys.batch, id, base + claim.held.length, index);
}

const ms = (t0: bigint) => (Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1);

try {
  console.log(`load average ${loadavg()[0]!.toFixed(2)} at the start`);
  await redis.flushall();
  // A: one queue, many slices.
  for (let i = 0; i < slices; i += 1000) await redis.lpush('queue:one', ...Array.from({ length: Math.min(1000, slices - i) }, (_, k) => `{"class":"A","queue":"one","args":[${i + k}]}`));
  let most = 0;
  await redis.config('RESETSTAT');
  for (let i = 0; i < slices; i++) {
    await slice('one');
    most = Math.max(most, await redis.scard(index));
  }
  if ((await redis.llen('queue:one')) !== 0) throw new Error('A: not every job of queue:one was claimed');
  console.log(`A. ${slices} slices of one queue: index size at most ${most}, at the end ${await redis.scard(index)} (its key exists: ${await redis.exists(inflightKey('', RUN, 'queue:one'))}); inside Redis: ${(await redis.info('commandstats')).split('\n').filter((l) => /^cmdstat_(srem|sadd|del):/.test(l)).map((l) => l.trim().replace(/,rejected_calls.*$/, '')).join('; ')}`);

  // B: many queues, one slice each.
  await redis.flushall();
  for (let q = 0; q < queues; q += 1000) {
    const pipeline = redis.pipeline();
    for (let k = q; k < Math.min(queues, q + 1000); k++) pipeline.lpush(`queue:q${k}`, `{"class":"A","queue":"q${k}","args":[]}`);
    await pipeline.exec();
  }
  let t0 = process.hrtime.bigint();
  for (let q = 0; q < queues; q++) await slice(`q${q}`);
  console.log(`B. ${queues} queues, one slice each (${ms(t0)} ms): index size at the end ${await redis.scard(index)}, memory of the index ${await redis.memory('USAGE', index)} B`);
  // A target's look with the mark reads every name (stale or not).
  await redis.sadd(index, 'walked');
  await redis.config('RESETSTAT');
  t0 = process.hrtime.bigint();
  const marked = await lookForInflightKeys(redis, keys, {}, { mark: true });
  console.log(`   a look with the mark over them: ${ms(t0)} ms, ${marked.inflight.length} in flight found, commands ${JSON.stringify(await commandCalls())}`);
  await redis.srem(index, 'walked');
  await redis.config('RESETSTAT');
  t0 = process.hrtime.bigint();
  const gone = await forgetGoneInflightKeys(redis, '');
  console.log(`   forgetGoneInflightKeys: ${gone} names taken out in ${ms(t0)} ms, commands ${JSON.stringify(await commandCalls())}`);
  await redis.config('RESETSTAT');
  t0 = process.hrtime.bigint();
  await forgetGoneInflightKeys(redis, '');
  console.log(`   forgetGoneInflightKeys on an empty index: ${ms(t0)} ms, commands ${JSON.stringify(await commandCalls())}`);

  // C: the first look at an unmarked Redis.
  if (unrelated > 0) {
    await redis.flushall();
    await redis.call('DEBUG', 'POPULATE', String(unrelated), 'cache');
    await redis.lpush(inflightKey('', 'transfer-old', 'queue:x'), 'j1', 'j2');
    for (const round of ['unmarked', 'marked']) {
      await redis.config('RESETSTAT');
      t0 = process.hrtime.bigint();
      const look = await lookForInflightKeys(redis, keys, {}, { mark: true });
      console.log(`C. ${round}, ${await redis.dbsize()} keys: ${ms(t0)} ms, walked ${look.walked}, found ${look.inflight.map((l) => `${l.key}=${l.size}`).join(',')}, commands ${JSON.stringify(await commandCalls())}`);
    }
  }
  console.log(`load average ${loadavg()[0]!.toFixed(2)} at the end`);
} finally {
  redis.disconnect();
}
