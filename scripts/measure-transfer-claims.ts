/**
 * How long the source's Lua calls of a transfer keep the source busy, by jobs per claim call
 * (issue #18: no call over 2 ms, p99 under 1 ms): claims then acknowledges the same jobs in a
 * throwaway redis-server, a slice of MAX_JOBS_PER_CLAIM at a time, as a transfer does — the claim
 * in calls of `size` jobs in one pipeline (claim-calls.ts: claimQueueJobs-14 for one queue, front
 * placement; claimSetEntries-16 for `schedule`), then the slice's acknowledge (acknowledgeQueueBatch-4
 * in one call; acknowledgeSetBatch-10 in calls of MAX_JOBS_PER_CLAIM_CALL by members, then again
 * with the claim's seal in one call: acknowledge.ts) — and prints Redis's own execution time of each
 * kind of call (SLOWLOG: median, p99, max, calls over 2 ms; calls under the log's threshold count
 * as below it). Sibling of measure-transfer-writes.ts; what MAX_JOBS_PER_CLAIM_CALL
 * (core/transfer/transfer-options.ts) was chosen from. `size` 250 is one call per slice, as before.
 *
 *   npx tsx scripts/measure-transfer-claims.ts [jobs=40000] [sizes=250,100,50,25]
 *
 * Payloads are ~700 B (the bench's mean); the 1-minute load average is printed: on a shared
 * machine the tails are mostly other processes.
 */
import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { LUA_LOG_THRESHOLD_MICROS, recordLuaCalls } from '../bench/redis/slowlog.js';
import { startRedisServer } from '../cli/support/redis-server-process.js';
import { LuaScript } from '../core/redis/lua-script.js';
import { acknowledgeQueueJobs, acknowledgeSetEntries } from '../core/transfer/acknowledge.js';
import { claimQueueSlice, claimSetSlice } from '../core/transfer/claim-calls.js';
import { newBatchId, parseBatch } from '../core/transfer/ledger-id.js';
import { MAX_JOBS_PER_CLAIM, MAX_JOBS_PER_CLAIM_CALL } from '../core/transfer/transfer-options.js';

const jobs = Number(process.argv[2] ?? 40_000);
const sizes = (process.argv[3] ?? '250,100,50,25').split(',').map(Number);
const payload = (i: number) =>
  Buffer.from(JSON.stringify({ class: 'SomeWorker', queue: 'default', args: [i, 'x'.repeat(560)], jid: String(i).padStart(24, '0'), retry: 3, created_at: 1.7e9, enqueued_at: 1.7e9 }));
const sha = (name: string) => new LuaScript(name).sha;
const SHAS = { claimQueue: sha('claimQueueJobs-14'), ackQueue: sha('acknowledgeQueueBatch-4'), claimSet: sha('claimSetEntries-16'), ackSet: sha('acknowledgeSetBatch-10') };
const queueKeys = { queue: 'queue:q', inflight: 'inflight:q', batch: 'batch:q', chain: 'chain:q', stopMarker: 'stopped', lock: 'lock', originals: 'originals:q', inflightIndex: 'inflight-keys' };
const setKeys = { set: 'schedule', inflight: 'inflight:s', batch: 'batch:s', conflicts: 'conflicts:s', chain: 'chain:s', stopMarker: 'stopped', lock: 'lock', seal: 'seal:s', acknowledged: 'acknowledged:s', originals: 'originals:s', inflightIndex: 'inflight-keys' };

const server = await startRedisServer(['--slowlog-max-len', '200000']);
const redis = new Redis(server.url, { protocol: 2 });

/** Logged EVALSHA durations (µs) by script SHA since the last recordLuaCalls. */
async function logged(): Promise<Map<string, number[]>> {
  const entries = (await redis.slowlog('GET', '-1')) as [number, number, number, (string | Buffer)[]][];
  const bySha = new Map<string, number[]>();
  for (const e of entries) {
    if (String(e[3]?.[0] ?? '').toUpperCase() !== 'EVALSHA') continue;
    const script = String(e[3]![1]);
    bySha.set(script, [...(bySha.get(script) ?? []), Number(e[2])]);
  }
  return bySha;
}

/** "claim: N calls, median …, p99 …, max …, k over 2 ms" for the logged calls of one script among `calls`. */
function show(what: string, durations: number[] = [], calls: number): string {
  durations.sort((a, b) => a - b);
  const at = (rank: number) => (rank <= durations.length ? String(durations[durations.length - rank]) : `<${LUA_LOG_THRESHOLD_MICROS}`);
  return `${what} ${calls} calls, median ${at(Math.ceil(calls / 2))} µs, p99 ${at(Math.ceil(0.01 * calls))} µs, max ${durations.at(-1) ?? 0} µs, ${durations.filter((us) => us > 2000).length} over 2 ms`;
}

try {
  console.log(`${jobs.toLocaleString('en')} jobs of ~${payload(0).length} B, slices of ${MAX_JOBS_PER_CLAIM}; load average ${loadavg()[0]!.toFixed(2)} at the start`);
  for (const size of sizes) {
    await redis.flushall();
    for (let i = 0; i < jobs; i += 1000) await redis.lpush('queue:q', ...Array.from({ length: Math.min(1000, jobs - i) }, (_, k) => payload(i + k)));
    await recordLuaCalls(redis);
    let [claims, acks] = [0, 0];
    for (let left = jobs; left > 0; acks++) {
      const claim = await claimQueueSlice(redis, queueKeys, { want: Math.min(MAX_JOBS_PER_CLAIM, left), newBatch: newBatchId(), runId: 'measure', newest: true, remaining: left }, size);
      const { id, base } = parseBatch(claim.stored);
      await acknowledgeQueueJobs(redis, queueKeys.inflight, queueKeys.batch, id, base + claim.held.length, queueKeys.inflightIndex);
      claims += claim.calls;
      left -= claim.claimed;
    }
    const q = await logged();
    const queue = `${show('claim', q.get(SHAS.claimQueue), claims)}; ${show('ack', q.get(SHAS.ackQueue), acks)}`;

    const sets: string[] = [];
    for (const sealed of [false, true]) {
      await redis.flushall();
      for (let i = 0; i < jobs; i += 1000) await redis.zadd('schedule', ...Array.from({ length: Math.min(1000, jobs - i) }, (_, k) => [String(1.7e9 + i + k), payload(i + k)]).flat());
      await recordLuaCalls(redis);
      [claims, acks] = [0, 0];
      for (let left = jobs; left > 0; acks++) {
        const claim = await claimSetSlice(redis, setKeys, { want: Math.min(MAX_JOBS_PER_CLAIM, left), newBatch: newBatchId(), runId: 'measure' }, size);
        const how = await acknowledgeSetEntries(redis, { ...setKeys, source: setKeys.set }, claim.stored, claim.held.map((e) => e.member), [], sealed ? claim.seal : undefined);
        if (how !== (sealed ? 'sealed' : 'by members')) throw new Error(`acknowledged ${how}`);
        if (!sealed) acks += Math.max(1, Math.ceil(claim.held.length / MAX_JOBS_PER_CLAIM_CALL)) - 1;
        claims += claim.calls;
        left -= claim.claimed;
      }
      const s = await logged();
      sets.push(`set, ack ${sealed ? 'sealed' : 'by members'} — ${show('claim', s.get(SHAS.claimSet), claims)}; ${show('ack', s.get(SHAS.ackSet), acks)}`);
    }
    const set = sets.join('\n  ');
    console.log(`${String(size).padStart(4)} per claim call\n  queue — ${queue}\n  ${set}`);
  }
  console.log(`load average ${loadavg()[0]!.toFixed(2)} at the end`);
} finally {
  redis.disconnect();
  await server.stop();
}
