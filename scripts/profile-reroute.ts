/**
 * Where a re-route page's time goes, on the bench data (issue #18): seeds the re-route bench's
 * workload into a throwaway redis-server and re-routes its `schedule` and `retry` sets as the
 * CLI's local runner does, twice per round, on a fresh copy each time: page after page
 * (`drivePages` over `rerouteSetPage`, how every set was re-routed before) and with the next page
 * read ahead (`rerouteSet`, drivePipelinedPages). For each run it splits the wall time into
 * "Redis busy with our commands" (at least one command or pipeline in flight), of which the
 * part Node spent working meanwhile is overlap, and "Node alone", and gives Redis's own
 * execution time per command (INFO commandstats) and the process's CPU time.
 *
 *   [PAGE_SIZE=1000] [LUA_BATCH=DEFAULT_LUA_BATCH] npx tsx scripts/profile-reroute.ts [jobs=100000] [rounds=2]
 *   node --cpu-prof --cpu-prof-dir=DIR --import tsx scripts/profile-reroute.ts   (a V8 profile too)
 *
 * Not a benchmark (`npm run bench` compares figures side by side); a profile to decide what to change.
 */
import { Redis } from 'ioredis';
import { SidekiqKeys } from '../core/redis/sidekiq-keys.js';
import { drivePages } from '../core/reroute/drive-pages.js';
import { DEFAULT_LUA_BATCH } from '../core/reroute/reroute-options.js';
import { rerouteSet, rerouteSetPage, type SetCursor } from '../core/reroute/set-page.js';
import { seedWorkload } from '../bench/redis/seed.js';
import { benchRouting } from '../bench/workload/routing.js';
import { startRedisServer } from '../cli/support/redis-server-process.js';
import { loadavg } from 'node:os';

const jobs = Number(process.argv[2] ?? 100_000);
const rounds = Number(process.argv[3] ?? 2);
const pageSize = Number(process.env.PAGE_SIZE ?? 1000);
const luaBatch = Number(process.env.LUA_BATCH ?? DEFAULT_LUA_BATCH);
// Sets only: the queued share is not read by either mode.
const scale = { schedule: Math.round(jobs * 0.5), retry: Math.round(jobs * 0.5), queued: 0 };
const SETS = ['schedule', 'retry'] as const;

const server = await startRedisServer();
const redis = new Redis(server.url);
const routing = benchRouting();
type Mode = 'page after page' | 'read ahead';
try {
  console.log(`re-route of the sets of ${jobs.toLocaleString('en-US')} bench jobs (${scale.schedule} schedule + ${scale.retry} retry), page ${pageSize}, Lua batch ${luaBatch}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  for (let round = 1; round <= rounds; round++) {
    for (const mode of ['page after page', 'read ahead'] as Mode[]) await profileRun(mode);
  }
  console.log(`load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  redis.disconnect();
  await server.stop();
}

async function profileRun(mode: Mode): Promise<void> {
  await seedWorkload(redis, routing, scale);
  await redis.config('RESETSTAT');
  const busy = trackBusy(redis);
  const context = { redis, keys: new SidekiqKeys(''), plan: routing.plan, dryRun: false, count: pageSize, luaBatch };
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const startHr = process.hrtime.bigint() / 1000n;
  let moved = 0;
  for (const set of SETS) {
    const run =
      mode === 'read ahead'
        ? await rerouteSet({ ...context, set })
        : await drivePages((cursor: SetCursor) => rerouteSetPage({ ...context, set, cursor }), { scan: '0' });
    moved += run.counters.moved;
  }
  const wall = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  const redisBusy = busy.stop();
  // For --cpu-prof: the run's window in the profile's clock (µs), to leave the seeding out.
  if (process.execArgv.some((a) => a.startsWith('--cpu-prof'))) console.log(`  profile window (${mode}): ${startHr} ${process.hrtime.bigint() / 1000n}`);
  const stats = await commandStats(redis);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  console.log(`\n${mode}: moved ${moved.toLocaleString('en-US')} in ${s(wall)} = ${Math.round((scale.schedule + scale.retry) / (wall / 1000)).toLocaleString('en-US')} jobs/s; process CPU ${s(cpuMs)}`);
  console.log(`  a command of ours in flight ${s(redisBusy)} (${pct(redisBusy, wall)}), none ${s(wall - redisBusy)} (${pct(wall - redisBusy, wall)}: Node alone)`);
  const perCall = [...stats].sort((a, b) => b[1].usec - a[1].usec).slice(0, 5);
  console.log(`  Redis executing: ${perCall.map(([name, { calls, usec }]) => `${name} ${(usec / 1e6).toFixed(2)} s (${calls.toLocaleString('en-US')} × ${(usec / calls).toFixed(1)} µs)`).join(', ')}`);
}

function pct(part: number, whole: number): string {
  return `${((100 * part) / whole).toFixed(0)} %`;
}

/**
 * Wall time during which at least one command (or pipeline) of `client` was in flight: a union
 * of intervals, so overlapping commands count once. Wraps sendCommand and pipeline exec.
 */
function trackBusy(client: Redis): { stop(): number } {
  const sendCommand = client.sendCommand;
  const pipeline = client.pipeline;
  let inFlight = 0;
  let since = 0;
  let total = 0;
  let inPipeline = false;
  const begin = () => {
    if (inFlight++ === 0) since = performance.now();
  };
  const end = () => {
    if (--inFlight === 0) total += performance.now() - since;
  };
  client.sendCommand = function (this: Redis, command: { promise: Promise<unknown> }, ...rest: unknown[]) {
    const result = (sendCommand as (...a: unknown[]) => unknown).call(this, command, ...rest);
    if (!inPipeline) {
      begin();
      command.promise.then(end, end);
    }
    return result;
  } as typeof client.sendCommand;
  client.pipeline = function (this: Redis, ...args: unknown[]) {
    const p = (pipeline as (...a: unknown[]) => ReturnType<Redis['pipeline']>).apply(this, args);
    const exec = p.exec;
    p.exec = function (this: typeof p, ...execArgs: unknown[]) {
      begin();
      inPipeline = true;
      const promise = (exec as (...a: unknown[]) => ReturnType<typeof p.exec>).apply(this, execArgs);
      inPipeline = false;
      promise.then(end, end);
      return promise;
    } as typeof p.exec;
    return p;
  } as typeof client.pipeline;
  return {
    stop() {
      client.sendCommand = sendCommand;
      client.pipeline = pipeline;
      return total;
    },
  };
}

async function commandStats(client: Redis): Promise<Map<string, { calls: number; usec: number }>> {
  const text = await client.info('commandstats');
  const stats = new Map<string, { calls: number; usec: number }>();
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) stats.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
  return stats;
}
