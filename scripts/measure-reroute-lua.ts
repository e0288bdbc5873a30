/**
 * Redis's own cost of the re-route's set script, this checkout's against another's (issue #18:
 * less work per job): seeds the re-route bench's `schedule` entries into a throwaway redis-server,
 * rewrites them all in calls of DEFAULT_LUA_BATCH entries, 20 calls a pipeline, as a set page
 * does (with the run's record of rewrites), alternately with each checkout's
 * `core/redis/lua/rerouteSetEntries-n.lua`, and prints per moved entry Redis's execution time of
 * the calls (INFO commandstats, the commands inside included) and its CPU time.
 *
 *   npx tsx scripts/measure-reroute-lua.ts OTHER_CHECKOUT [entries=50000] [rounds=3]
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { seedWorkload } from '../bench/redis/seed.js';
import { benchRouting } from '../bench/workload/routing.js';
import { startRedisServer } from '../cli/support/redis-server-process.js';
import { examineScheduledJob } from '../core/reroute/examine-job.js';
import { DEFAULT_LUA_BATCH } from '../core/reroute/reroute-options.js';
import { entryDigest } from '../core/reroute/rewritten-entries.js';

const [otherDir, entriesArg, roundsArg] = process.argv.slice(2);
if (!otherDir) {
  process.stderr.write('usage: npx tsx scripts/measure-reroute-lua.ts OTHER_CHECKOUT [entries=50000] [rounds=3]\n');
  process.exit(2);
}
const entries = Number(entriesArg ?? 50_000);
const rounds = Number(roundsArg ?? 3);
const source = (checkout: string) =>
  ['lib/guards.lua', 'rerouteSetEntries-n.lua'].map((f) => readFileSync(join(resolve(checkout), 'core/redis/lua', f), 'utf8')).join('\n');
const scripts = [
  { name: `other (${otherDir})`, source: source(otherDir) },
  { name: 'this checkout', source: source('.') },
];
const routing = benchRouting();
const server = await startRedisServer();
const redis = new Redis(server.url);
type Stat = { usec: number; cpu: number; moved: number };
const results = new Map<string, Stat[]>();
try {
  console.log(`${entries.toLocaleString('en-US')} schedule entries, calls of ${DEFAULT_LUA_BATCH}, ${rounds} rounds; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  for (let round = 0; round < rounds; round++) {
    for (const script of scripts) results.set(script.name, [...(results.get(script.name) ?? []), await measure(script.source)]);
  }
  for (const [name, runs] of results) {
    const per = (f: (s: Stat) => number) => runs.map((s) => f(s) / s.moved).sort((a, b) => a - b);
    const show = (xs: number[]) => `${xs[Math.floor(xs.length / 2)]!.toFixed(2)} µs (${xs.map((x) => x.toFixed(2)).join(' / ')})`;
    console.log(`${name.padEnd(40)} per entry moved: EVALSHA executing ${show(per((s) => s.usec))}, Redis CPU ${show(per((s) => s.cpu))}`);
  }
  console.log(`load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  redis.disconnect();
  await server.stop();
}

async function measure(lua: string): Promise<Stat> {
  await seedWorkload(redis, routing, { schedule: entries, retry: 0, queued: 0 });
  const sha = (await redis.script('LOAD', lua)) as string;
  const calls: Buffer[][] = [];
  let args: Buffer[] = [];
  // The set's entries as ZSCAN gives them, decided as a page decides them.
  let cursor = '0';
  do {
    const [next, flat] = await redis.zscanBuffer('schedule', cursor, 'COUNT', 1000);
    for (let i = 0; i < flat.length; i += 2) {
      const examined = examineScheduledJob(flat[i]!, routing.plan, true);
      if (examined.kind !== 'move') continue;
      args.push(flat[i]!, examined.rewritten, flat[i + 1]!, Buffer.from(entryDigest(examined.rewritten)));
      if (args.length === DEFAULT_LUA_BATCH * 4) {
        calls.push(args);
        args = [];
      }
    }
    cursor = next.toString();
  } while (cursor !== '0');
  if (args.length > 0) calls.push(args);
  await redis.config('RESETSTAT');
  const cpuBefore = await redisCpu();
  let moved = 0;
  for (let i = 0; i < calls.length; i += 20) {
    const pipeline = redis.pipeline() as ReturnType<Redis['pipeline']> & { evalshaBuffer(...args: unknown[]): unknown };
    for (const call of calls.slice(i, i + 20)) pipeline.evalshaBuffer(sha, 2, 'schedule', 'rewritten', ...call);
    for (const [error, reply] of (await pipeline.exec())!) {
      if (error) throw error;
      moved += (reply as number[])[0]!;
    }
  }
  const cpu = (await redisCpu()) - cpuBefore;
  const usec = Number(/^cmdstat_evalsha:calls=\d+,usec=(\d+)/m.exec(await redis.info('commandstats'))![1]);
  return { usec, cpu: cpu * 1e6, moved };
}

async function redisCpu(): Promise<number> {
  const text = await redis.info('cpu');
  return Number(/used_cpu_user:([\d.]+)/.exec(text)![1]) + Number(/used_cpu_sys:([\d.]+)/.exec(text)![1]);
}
