/**
 * How long one transfer write Lua call keeps the target busy, by jobs per call (issue #18: no
 * call over 2 ms, p99 under 1 ms): writes the same jobs into a throwaway redis-server through
 * copyJobsToLists-n4 (one queue) and copyEntriesToSet-6 (`schedule`), in calls of each size, sent
 * as the transfer sends them (a slice's calls in one pipeline), and prints Redis's own execution
 * time of those calls (INFO commandstats for the mean, SLOWLOG for p99 and max, as the bench).
 * What MAX_JOBS_PER_WRITE (core/transfer/transfer-options.ts) was chosen from.
 *
 *   npx tsx scripts/measure-transfer-writes.ts [jobs=40000] [sizes=250,100,50,25]
 *
 * Payloads are ~700 B (the bench's mean); the 1-minute load average is printed: on a shared
 * machine the tails are mostly other processes.
 */
import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { luaDurations, recordLuaCalls, type LuaDurations } from '../bench/redis/slowlog.js';
import { startRedisServer } from '../cli/support/redis-server-process.js';
import { LuaScript, type LuaCall } from '../core/redis/lua-script.js';
import { MAX_JOBS_PER_CLAIM } from '../core/transfer/transfer-options.js';

const jobs = Number(process.argv[2] ?? 40_000);
const sizes = (process.argv[3] ?? '250,100,50,25').split(',').map(Number);
const copyJobsToLists = new LuaScript('copyJobsToLists-n4');
const copyEntriesToSet = new LuaScript('copyEntriesToSet-6');
const payload = (i: number) =>
  Buffer.from(JSON.stringify({ class: 'SomeWorker', queue: 'default', args: [i, 'x'.repeat(560)], jid: String(i).padStart(24, '0'), retry: 3, created_at: 1.7e9, enqueued_at: 1.7e9 }));

/** The calls of one slice of MAX_JOBS_PER_CLAIM jobs starting at `first`, `size` jobs each. */
function sliceCalls(first: number, size: number, call: (from: number, to: number) => LuaCall): LuaCall[] {
  const calls = [];
  for (let i = first; i < Math.min(first + MAX_JOBS_PER_CLAIM, jobs); i += size) calls.push(call(i, Math.min(i + size, first + MAX_JOBS_PER_CLAIM, jobs)));
  return calls;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);
const queueCall = (from: number, to: number): LuaCall => ({
  // The run lock on the target, held by the writing run (as in a run: every call looks at it first).
  keys: ['ledger:q', 'queues', 'sidekiq-migrate:lock', 'sidekiq-migrate:ledgers', 'queue:default'],
  // One batch a slice, positions from 0 (the ledger keeps one number a batch: copyJobsToLists-n4.lua).
  args: ['RPUSH', 1, 'default', `B${Math.floor(from / MAX_JOBS_PER_CLAIM)}`, from % MAX_JOBS_PER_CLAIM, from % MAX_JOBS_PER_CLAIM === 0 ? '' : 'after', 'run', '', ...range(from, to).flatMap((i) => [payload(i), 1])],
});
const setCall = (from: number, to: number): LuaCall => ({ keys: ['ledger:s', 'schedule', 'sidekiq-migrate:lock', 'sidekiq-migrate:ledgers'], args: ['run', '', ...range(from, to).flatMap((i) => [`S:${i}`, payload(i), String(1.7e9 + i)])] });

const server = await startRedisServer(['--slowlog-max-len', '200000']);
const redis = new Redis(server.url, { protocol: 2 });
const show = (d: LuaDurations) => `${d.calls} calls, mean ${d.meanMicros.toFixed(0)} µs, p99 ${d.p99Micros} µs, max ${d.maxMicros} µs, ${d.over2ms} over 2 ms`;
try {
  console.log(`${jobs.toLocaleString('en')} jobs of ~${payload(0).length} B; load average ${loadavg()[0]!.toFixed(2)} at the start`);
  for (const size of sizes) {
    const measured: string[] = [];
    for (const [script, call, what] of [
      [copyJobsToLists, queueCall, 'queue'],
      [copyEntriesToSet, setCall, 'set'],
    ] as const) {
      await redis.flushall();
      await redis.set('sidekiq-migrate:lock', JSON.stringify({ runId: 'run', expiresAt: Date.now() + 3_600_000 }));
      await redis.script('LOAD', script.source);
      await recordLuaCalls(redis);
      for (let first = 0; first < jobs; first += MAX_JOBS_PER_CLAIM) await script.runAll(redis, sliceCalls(first, size, call));
      measured.push(`${what}: ${show(await luaDurations(redis))}`);
    }
    console.log(`${String(size).padStart(4)} per call — ${measured.join('; ')}`);
  }
  console.log(`load average ${loadavg()[0]!.toFixed(2)} at the end`);
} finally {
  redis.disconnect();
  await server.stop();
}
