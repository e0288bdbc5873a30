/**
 * Redis's own cost of the re-route's set script, this checkout's against another's (issue #18:
 * less work per job): seeds the re-route bench's `schedule` entries into a throwaway redis-server,
 * rewrites them all in calls of DEFAULT_LUA_BATCH entries, 20 calls a pipeline, as a set page
 * does (with the run's record of rewrites), alternately with each checkout's
 * `core/redis/lua/rerouteSetEntries-n6.lua` (or -n5, or -n4, which was given each entry's score as well), and prints
 * per moved entry Redis's execution time of the calls (INFO commandstats, the commands inside
 * included) and its CPU time.
 *
 *   npx tsx scripts/measure-reroute-lua.ts OTHER_CHECKOUT [entries=50000] [rounds=3]
 */
import { Redis } from 'ioredis';
import { seedWorkload } from '../bench/redis/seed.js';
import { benchRouting } from '../bench/workload/routing.js';
import { startRedisServer } from '../cli/support/redis-server-process.js';
import { examineScheduledJob } from '../core/reroute/examine-job.js';
import { DEFAULT_LUA_BATCH } from '../core/reroute/reroute-options.js';
import { entryDigest } from '../core/reroute/rewritten-entries.js';
import { alternately, loadAverage, medianOf, redisCpuSeconds } from './support/lua-of-checkouts.js';

const [otherDir, entriesArg, roundsArg] = process.argv.slice(2);
if (!otherDir) {
  process.stderr.write('usage: npx tsx scripts/measure-reroute-lua.ts OTHER_CHECKOUT [entries=50000] [rounds=3]\n');
  process.exit(2);
}
const entries = Number(entriesArg ?? 50_000);
const rounds = Number(roundsArg ?? 3);
const routing = benchRouting();
const server = await startRedisServer();
const redis = new Redis(server.url);
type Stat = { usec: number; cpu: number; moved: number };
try {
  console.log(`${entries.toLocaleString('en-US')} schedule entries, calls of ${DEFAULT_LUA_BATCH}, ${rounds} rounds; load average ${loadAverage()}`);
  for (const [name, runs] of await alternately(otherDir, ['rerouteSetEntries-n6.lua', 'rerouteSetEntries-n5.lua', 'rerouteSetEntries-n4.lua'], rounds, measure)) {
    const per = (f: (s: Stat) => number) => runs.map((s) => f(s) / s.moved);
    console.log(`${name.padEnd(40)} per entry moved: EVALSHA executing ${medianOf(per((s) => s.usec))}, Redis CPU ${medianOf(per((s) => s.cpu))}`);
  }
  console.log(`load average at the end ${loadAverage()}`);
} finally {
  redis.disconnect();
  await server.stop();
}

async function measure(lua: string): Promise<Stat> {
  await seedWorkload(redis, routing, { schedule: entries, retry: 0, queued: 0 });
  const sha = (await redis.script('LOAD', lua)) as string;
  // -n4 and before: quints, each entry's score (as ZSCAN returned it) after its rewrite; -n5 and after: quads.
  const withScore = lua.includes('quints, one per entry');
  const perEntry = withScore ? 5 : 4;
  const calls: Buffer[][] = [];
  let args: Buffer[] = [];
  // The set's entries as ZSCAN gives them, decided as a page decides them.
  let cursor = '0';
  do {
    const [next, flat] = await redis.zscanBuffer('schedule', cursor, 'COUNT', 1000);
    for (let i = 0; i < flat.length; i += 2) {
      const examined = examineScheduledJob(flat[i]!, routing.plan, true);
      if (examined.kind !== 'move') continue;
      args.push(flat[i]!, examined.rewritten, ...(withScore ? [flat[i + 1]!] : []), Buffer.from(entryDigest(examined.rewritten)), Buffer.from('0'));
      if (args.length === DEFAULT_LUA_BATCH * perEntry) {
        calls.push(args);
        args = [];
      }
    }
    cursor = next.toString();
  } while (cursor !== '0');
  if (args.length > 0) calls.push(args);
  await redis.config('RESETSTAT');
  const cpuBefore = await redisCpuSeconds(redis);
  let moved = 0;
  for (let i = 0; i < calls.length; i += 20) {
    const pipeline = redis.pipeline() as ReturnType<Redis['pipeline']> & { evalshaBuffer(...args: unknown[]): unknown };
    for (const call of calls.slice(i, i + 20)) pipeline.evalshaBuffer(sha, 2, 'schedule', 'rewritten', '0', '', ...call); // no record of moves (move-record.ts recordArgs)
    for (const [error, reply] of (await pipeline.exec())!) {
      if (error) throw error;
      moved += (reply as number[])[0]!;
    }
  }
  const cpu = (await redisCpuSeconds(redis)) - cpuBefore;
  const usec = Number(/^cmdstat_evalsha:calls=\d+,usec=(\d+)/m.exec(await redis.info('commandstats'))![1]);
  return { usec, cpu: cpu * 1e6, moved };
}

