/**
 * Where the whole `sidekiq-migrate run --mapping` command's time goes (issue #18), on the re-route
 * bench's data: seeds it into a throwaway redis-server, runs the CLI of a checkout (this one by
 * default; `npm run build:cli` first) under `node --cpu-prof`, and prints the command's wall and
 * CPU time, Redis's CPU and per-command execution time (INFO commandstats) for the run, and the
 * V8 profile's self time by function (idle and GC included), heaviest first.
 *
 *   npx tsx scripts/profile-cli-reroute.ts [schedule=100000] [retry=100000] [queued=100000] [CHECKOUT=.]
 *
 * With `move` first, the same for `sidekiq-migrate move --from --to` (the transfer between two
 * servers; the bench data seeded into one throwaway redis-server, moved to a second, empty one;
 * Redis figures are both servers', summed):
 *
 *   npx tsx scripts/profile-cli-reroute.ts move [schedule=25000] [retry=25000] [queued=50000] [CHECKOUT=.]
 *
 * PROFILE_KEEP=FILE keeps the V8 profile. The run's JSON summary is printed as counts, so that two builds can be checked for the same result.
 * Each server's socket reads (INFO stats total_reads_processed: about its round trips, for a client
 * that pipelines) and EVALSHA calls are printed too. DELAY_US=500 puts a C delay proxy
 * (bench/latency) in front of each server, calibrated to add that round trip, and gives the CLI the
 * proxies' URLs: the run then pays the delay on every round trip (seeding and the figures do not).
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { seedWorkload } from '../bench/redis/seed.js';
import { benchRouting } from '../bench/workload/routing.js';
import { startRedisServer } from '../cli/support/redis-server-process.js';
import { calibrateProxy } from '../bench/latency/calibrate.js';
import { startDelayProxy } from '../bench/latency/start-proxy.js';
import type { DelayProxy } from '../bench/latency/proxy-stats.js';

const move = process.argv[2] === 'move';
const argv = process.argv.slice(move ? 3 : 2);
const defaults = move ? [25_000, 25_000, 50_000] : [100_000, 100_000, 100_000];
const [schedule, retry, queued] = defaults.map((d, i) => (argv[i] === undefined ? d : Number(argv[i])));
const scale = { schedule: schedule!, retry: retry!, queued: queued! };
const checkout = resolve(argv[3] ?? '.');
const routing = benchRouting();
const TICK_MS = 500;
const dir = mkdtempSync(join(tmpdir(), 'profile-cli-'));
const mapping = join(dir, 'mapping.json');
writeFileSync(mapping, JSON.stringify(Object.fromEntries(routing.workers.map((w) => [w.className, w.destination]))));

// The re-route runs on one server; a move, from the first to the second.
const servers = await Promise.all((move ? [0, 1] : [0]).map(() => startRedisServer()));
const clients = servers.map((s) => new Redis(s.url));
const redis = clients[0]!;
const delayMicros = Number(process.env.DELAY_US ?? 0);
const proxies: DelayProxy[] = [];
try {
  // The CLI's URLs: the servers', or their delay proxies' (calibrated to add DELAY_US each round trip).
  const urls: string[] = [];
  for (const server of servers) {
    if (delayMicros <= 0) {
      urls.push(server.url);
      continue;
    }
    const proxy = await startDelayProxy(server.port, (line) => console.log(line));
    proxies.push(proxy);
    const calibration = await calibrateProxy(proxy, server.port, delayMicros);
    console.log(`delay proxy (${proxy.kind}) for port ${server.port}: +${Math.round(calibration.addedMicros)} µs round trip (direct ${Math.round(calibration.direct.medianMicros)} µs)`);
    urls.push(`redis://127.0.0.1:${proxy.port}`);
  }
  await seedWorkload(redis, routing, scale);
  for (const client of clients) await client.config('RESETSTAT');
  const cpuBefore = await redisCpu();
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  const started = performance.now();
  const sampler = sampleRedisCpu(started);
  const command = move ? ['move', '--from', urls[0]!, '--to', urls[1]!, '--json'] : ['run', '--redis', urls[0]!, '--mapping', mapping, '--json'];
  const { code, stdout, stderr, cpuMs } = await runCli(command);
  const wall = performance.now() - started;
  const redisTimeline = await sampler.stop();
  if (code !== 0) throw new Error(`the CLI exited with ${code}: ${stderr.slice(-800)}`);
  const cpuAfter = await redisCpu();
  const jobs = scale.schedule + scale.retry + scale.queued;
  console.log(`${checkout}: ${command[0]}${move ? '' : ' --mapping'} on ${jobs.toLocaleString('en-US')} bench jobs (${scale.schedule} schedule + ${scale.retry} retry + ${scale.queued} queued); load average ${load}`);
  console.log(`wall ${(wall / 1000).toFixed(2)} s (${Math.round(jobs / (wall / 1000)).toLocaleString('en-US')} jobs/s), Node CPU ${(cpuMs / 1000).toFixed(2)} s, Redis CPU ${(cpuAfter.user - cpuBefore.user).toFixed(2)} s user + ${(cpuAfter.sys - cpuBefore.sys).toFixed(2)} s sys`);
  console.log(`result: ${summary(stdout)}`);
  const stats = await commandStats();
  console.log(`Redis executing: ${[...stats].sort((a, b) => b[1].usec - a[1].usec).slice(0, 10).map(([name, { calls, usec }]) => `${name} ${(usec / 1e6).toFixed(2)} s (${calls.toLocaleString('en-US')} × ${(usec / calls).toFixed(2)} µs)`).join(', ')}`);
  // Less the sampler's polls (one read each per server) and this connection's own INFO calls since the reset.
  const reads = await Promise.all(clients.map(async (c) => Number(/total_reads_processed:(\d+)/.exec(await c.info('stats'))![1]) - sampler.polls - 4));
  const evalshas = await Promise.all(clients.map(async (c) => Number(/cmdstat_evalsha:calls=(\d+)/.exec(await c.info('commandstats'))?.[1] ?? 0)));
  console.log(`reads per server (total_reads_processed${move ? ', source / target' : ''}): ${reads.join(' / ')}; EVALSHA calls: ${evalshas.join(' / ')}`);
  printProfile(redisTimeline);
  console.log(`load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  for (const proxy of proxies) await proxy.stop();
  for (const client of clients) client.disconnect();
  for (const server of servers) await server.stop();
  rmSync(dir, { recursive: true, force: true });
}

async function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; cpuMs: number }> {
  const rss = join(dir, 'usage');
  const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--import', resolve('bench/cli/report-peak-rss.js'), join(checkout, 'bin/sidekiq-migrate.js'), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SIDEKIQ_MIGRATE_BENCH_RSS_FILE: rss },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((ok, fail) => {
    child.once('error', fail);
    child.once('close', ok);
  });
  const usage = JSON.parse(readFileSync(rss, 'utf8')) as { cpuMicros: number };
  return { code, stdout, stderr, cpuMs: usage.cpuMicros / 1000 };
}

/** The totals of the run's JSON summary, whatever its exact shape: every numeric leaf of `totals`. */
function summary(stdout: string): string {
  try {
    const json = JSON.parse(stdout) as Record<string, unknown>;
    const totals = (json.totals ?? json.summary ?? json) as Record<string, unknown>;
    return JSON.stringify(totals).slice(0, 600);
  } catch {
    return stdout.slice(0, 600);
  }
}

/** The servers' CPU (user + sys, summed) every TICK_MS of the run, from connections of their own. */
function sampleRedisCpu(started: number): { stop(): Promise<number[]>; readonly polls: number } {
  const probes = servers.map((s) => new Redis(s.url));
  const samples: { at: number; cpu: number }[] = [];
  let running = true;
  const polled = { count: 0 };
  const loop = (async () => {
    while (running) {
      polled.count++;
      const { user, sys } = await redisCpu(probes);
      samples.push({ at: performance.now() - started, cpu: user + sys });
      await new Promise((r) => setTimeout(r, TICK_MS / 5));
    }
  })();
  return {
    // Each poll is one INFO per server: one socket read each, which the run's reads do not count.
    get polls() {
      return polled.count;
    },
    async stop() {
      running = false;
      await loop;
      for (const probe of probes) probe.disconnect();
      // CPU seconds per tick, interpolated at tick boundaries.
      const at = (t: number) => {
        const after = samples.findIndex((s) => s.at >= t);
        if (after <= 0) return after === 0 ? samples[0]!.cpu : samples[samples.length - 1]!.cpu;
        const a = samples[after - 1]!;
        const b = samples[after]!;
        return a.cpu + ((b.cpu - a.cpu) * (t - a.at)) / (b.at - a.at);
      };
      const ticks: number[] = [];
      for (let t = 0; t < samples[samples.length - 1]!.at; t += TICK_MS) ticks.push(at(t + TICK_MS) - at(t));
      return ticks;
    },
  };
}

/** The servers' CPU, summed. */
async function redisCpu(of = clients): Promise<{ user: number; sys: number }> {
  const total = { user: 0, sys: 0 };
  for (const client of of) {
    const text = await client.info('cpu');
    total.user += Number(/used_cpu_user:([\d.]+)/.exec(text)![1]);
    total.sys += Number(/used_cpu_sys:([\d.]+)/.exec(text)![1]);
  }
  return total;
}

/** Per command, the servers' calls and execution time, summed (a move's EVALSHAs run on both). */
async function commandStats(): Promise<Map<string, { calls: number; usec: number }>> {
  const stats = new Map<string, { calls: number; usec: number }>();
  for (const client of clients) {
    const text = await client.info('commandstats');
    for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
      const { calls, usec } = stats.get(m[1]!) ?? { calls: 0, usec: 0 };
      stats.set(m[1]!, { calls: calls + Number(m[2]), usec: usec + Number(m[3]) });
    }
  }
  return stats;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** Self time by function (name and file), from the profile's samples and their time deltas. */
function printProfile(redisTicks: number[]): void {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return;
  // PROFILE_KEEP=FILE keeps the V8 profile (for Chrome's DevTools or a closer look).
  if (process.env.PROFILE_KEEP) copyFileSync(join(dir, file), process.env.PROFILE_KEEP);
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const where = url === '' ? '' : ` ${url.replace(/^.*\/(node_modules\/)?/, '')}:${lineNumber + 1}`;
    const key = `${functionName || '(anonymous)'}${where}`;
    const dt = profile.timeDeltas[i] ?? 0;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  // Node's busy share per tick of the profile's own clock (it starts with the process, a few
  // tens of ms after the spawn the Redis samples count from), next to Redis's.
  const busy: number[] = [];
  let t = 0;
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i] ?? 0;
    const tick = Math.floor(t / 1000 / TICK_MS);
    busy[tick] ??= 0;
    if (byId.get(id)!.callFrame.functionName !== '(idle)') busy[tick]! += profile.timeDeltas[i + 1] ?? 0;
  });
  const share = (x: number) => `${Math.round(100 * x).toString().padStart(3)}`;
  console.log(`busy % per ${TICK_MS} ms (Node from its profile / Redis from INFO cpu):`);
  console.log(`  ${Array.from({ length: Math.max(busy.length, redisTicks.length) }, (_, i) => `${share((busy[i] ?? 0) / 1000 / TICK_MS)}/${share((redisTicks[i] ?? 0) / (TICK_MS / 1000))}`).join(' ')}`);
  console.log(`V8 profile: ${(total / 1e6).toFixed(2)} s sampled; self time, heaviest first:`);
  for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
    console.log(`  ${(us / 1e6).toFixed(3).padStart(6)} s ${((100 * us) / total).toFixed(1).padStart(5)} %  ${key}`);
  }
}
