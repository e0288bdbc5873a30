/**
 * Redis's own cost of the re-route's queue script, this checkout's against another's (issue #18:
 * less work per job): seeds the re-route bench's queued jobs into a throwaway redis-server, moves
 * them all as `front` slices do (newest first, RPUSH, LREM from the head) in calls of
 * DEFAULT_LUA_BATCH jobs (LUA_BATCH=N to change it), 20 calls a pipeline, alternately with each
 * checkout's `core/redis/lua/rerouteQueueJobs-n4.lua`, and prints per moved job Redis's execution
 * time of the calls (INFO commandstats, the commands inside included), the commands inside, and
 * the longest call (SLOWLOG, every call logged).
 *
 *   [LUA_BATCH=50] npx tsx scripts/measure-reroute-queue-lua.ts OTHER_CHECKOUT [jobs=100000] [rounds=3]
 */
import { Redis } from 'ioredis';
import { seedWorkload } from '../bench/redis/seed.js';
import { benchRouting } from '../bench/workload/routing.js';
import { startRedisServer } from '../cli/support/redis-server-process.js';
import { examineQueuedJob } from '../core/reroute/examine-job.js';
import { DEFAULT_LUA_BATCH } from '../core/reroute/reroute-options.js';
import { alternately, loadAverage, medianOf, redisCpuSeconds } from './support/lua-of-checkouts.js';

const [otherDir, jobsArg, roundsArg] = process.argv.slice(2);
if (!otherDir) {
  process.stderr.write('usage: npx tsx scripts/measure-reroute-queue-lua.ts OTHER_CHECKOUT [jobs=100000] [rounds=3]\n');
  process.exit(2);
}
const jobs = Number(jobsArg ?? 100_000);
const rounds = Number(roundsArg ?? 3);
const batch = Number(process.env.LUA_BATCH ?? DEFAULT_LUA_BATCH);
const routing = benchRouting();
const server = await startRedisServer();
const redis = new Redis(server.url);
type Stat = { usec: number; cpu: number; moved: number; longest: number; inside: string };
try {
  console.log(`${jobs.toLocaleString('en-US')} queued jobs, calls of ${batch}, ${rounds} rounds; load average ${loadAverage()}`);
  for (const [name, runs] of await alternately(otherDir, ['rerouteQueueJobs-n4.lua', 'rerouteQueueJobs-n3.lua'], rounds, measure)) {
    const per = (f: (s: Stat) => number) => runs.map((s) => f(s) / s.moved);
    console.log(`${name.padEnd(40)} per job moved: EVALSHA executing ${medianOf(per((s) => s.usec))}, Redis CPU ${medianOf(per((s) => s.cpu))}`);
    console.log(`${''.padEnd(40)} longest call ${runs.map((s) => `${s.longest} µs`).join(' / ')}; inside, per job: ${runs[runs.length - 1]!.inside}`);
  }
  console.log(`load average at the end ${loadAverage()}`);
} finally {
  redis.disconnect();
  await server.stop();
}

async function measure(lua: string): Promise<Stat> {
  await seedWorkload(redis, routing, { schedule: 0, retry: 0, queued: jobs });
  const sha = (await redis.script('LOAD', lua)) as string;
  const calls: { keys: string[]; args: (string | Buffer)[] }[] = [];
  for (const queue of (await redis.smembers('queues')).sort()) {
    // Newest first, as a `front` slice takes them; each queue's destinations in first-seen order.
    const moves: { job: Buffer; push: Buffer; to: string }[] = [];
    for (const job of await redis.lrangeBuffer(`queue:${queue}`, 0, -1)) {
      const examined = examineQueuedJob(job, queue, routing.plan, true);
      if (examined.kind === 'move') moves.push({ job, push: examined.rewritten, to: examined.to });
    }
    const destinations = new Map<string, number>();
    for (const move of moves) if (!destinations.has(move.to)) destinations.set(move.to, destinations.size + 1);
    const names = [...destinations.keys()];
    for (let i = 0; i < moves.length; i += batch) {
      const args: (string | Buffer)[] = ['RPUSH', '1', String(names.length), ...names, '0', '']; // no record of moves (move-record.ts recordArgs)
      for (const move of moves.slice(i, i + batch)) args.push(move.job, move.push, String(destinations.get(move.to)), '0');
      calls.push({ keys: [`queue:${queue}`, 'queues', ...names.map((n) => `queue:${n}`)], args });
    }
  }
  await redis.config('RESETSTAT');
  await redis.config('SET', 'slowlog-log-slower-than', '0');
  await redis.config('SET', 'slowlog-max-len', String(calls.length + 100));
  await redis.slowlog('RESET');
  const cpuBefore = await redisCpuSeconds(redis);
  let moved = 0;
  for (let i = 0; i < calls.length; i += 20) {
    const pipeline = redis.pipeline() as ReturnType<Redis['pipeline']> & { evalshaBuffer(...args: unknown[]): unknown };
    for (const call of calls.slice(i, i + 20)) pipeline.evalshaBuffer(sha, call.keys.length, ...call.keys, ...call.args);
    for (const [error, reply] of (await pipeline.exec())!) {
      if (error) throw error;
      moved += (reply as number[]).slice(1).reduce((a, b) => a + b, 0);
    }
  }
  const cpu = (await redisCpuSeconds(redis)) - cpuBefore;
  const log = (await redis.slowlog('GET', calls.length + 100)) as [number, number, number, string[]][];
  const longest = Math.max(...log.filter((e) => String(e[3][0]).toLowerCase() === 'evalsha').map((e) => e[2]));
  await redis.config('SET', 'slowlog-log-slower-than', '10000');
  const stats = await redis.info('commandstats');
  const inside = [...stats.matchAll(/^cmdstat_(\w+):calls=(\d+),usec=(\d+)/gm)]
    .filter((m) => !['evalsha', 'info', 'config', 'slowlog'].includes(m[1]!))
    .map((m) => `${m[1]} ${Number(m[2]).toLocaleString('en-US')}× ${(Number(m[3]) / moved).toFixed(2)} µs`)
    .join(', ');
  const usec = Number(/^cmdstat_evalsha:calls=\d+,usec=(\d+)/m.exec(stats)![1]);
  return { usec, cpu: cpu * 1e6, moved, longest, inside };
}

