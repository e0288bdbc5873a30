/**
 * Two builds of the CLI side by side, as a user times them (issue #18's before/after): each runs
 * `run --redis URL --mapping FILE --json` on the re-route bench's data and `move --from --to --json`
 * on the transfer bench's, alternately, on a fresh seeding each time, and the medians are printed
 * with each process's CPU time and peak RSS. The other build is a checkout with `npm run build:cli`
 * done (e.g. `git worktree add /tmp/before <rev>`, then symlink node_modules and build).
 *
 *   npx tsx scripts/compare-cli-builds.ts /tmp/before [jobs=100000] [rounds=3]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { measureCli, type CliMeasurement } from '../bench/cli/cli-process.js';
import { seedWorkload } from '../bench/redis/seed.js';
import { benchRouting } from '../bench/workload/routing.js';
import { startRedisServer } from '../cli/support/redis-server-process.js';

const [otherDir, jobsArg, roundsArg] = process.argv.slice(2);
if (!otherDir) {
  process.stderr.write('usage: npx tsx scripts/compare-cli-builds.ts OTHER_CHECKOUT [jobs=100000] [rounds=3]\n');
  process.exit(2);
}
const jobs = Number(jobsArg ?? 100_000);
const rounds = Number(roundsArg ?? 3);
const builds = [
  { name: `other (${otherDir})`, bin: join(resolve(otherDir), 'bin/sidekiq-migrate.js') },
  { name: 'this checkout', bin: resolve('bin/sidekiq-migrate.js') },
];
const routing = benchRouting();
const dir = mkdtempSync(join(tmpdir(), 'compare-cli-'));
const mapping = join(dir, 'mapping.json');
writeFileSync(mapping, JSON.stringify(Object.fromEntries(routing.workers.map((w) => [w.className, w.destination]))));
const reroute = { schedule: Math.round(jobs * 0.4), retry: Math.round(jobs * 0.3), queued: Math.round(jobs * 0.3) };
const transfer = { schedule: Math.round(jobs * 0.25), retry: Math.round(jobs * 0.25), queued: Math.round(jobs * 0.5) };

const source = await startRedisServer();
const target = await startRedisServer();
const [src, dst] = [new Redis(source.url), new Redis(target.url)];
const results = new Map<string, CliMeasurement[]>();
try {
  console.log(`${jobs.toLocaleString('en-US')} jobs, ${rounds} rounds; load average at the start ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  for (let round = 0; round < rounds; round++) {
    for (const build of builds) {
      await seedWorkload(src, routing, reroute);
      record(`run --mapping · ${build.name}`, await measureCli(['run', '--redis', source.url, '--mapping', mapping, '--json'], build.bin));
      await seedWorkload(src, routing, transfer);
      await dst.flushall();
      record(`move · ${build.name}`, await measureCli(['move', '--from', source.url, '--to', target.url, '--json'], build.bin));
    }
  }
  for (const [label, runs] of results) {
    const median = (f: (m: CliMeasurement) => number) => runs.map(f).sort((a, b) => a - b)[Math.floor(runs.length / 2)]!;
    const wall = median((m) => m.wallMs);
    console.log(
      `${label.padEnd(60)} ${(wall / 1000).toFixed(2)} s (${Math.round(jobs / (wall / 1000)).toLocaleString('en-US')} jobs/s), ` +
        `CPU ${(median((m) => m.cpuMs) / 1000).toFixed(2)} s, peak RSS ${Math.round(median((m) => m.peakRssBytes) / 2 ** 20)} MB; ` +
        `walls ${runs.map((m) => (m.wallMs / 1000).toFixed(2)).join(' / ')}; CPUs ${runs.map((m) => (m.cpuMs / 1000).toFixed(2)).join(' / ')}`,
    );
  }
  console.log(`load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  src.disconnect();
  dst.disconnect();
  await source.stop();
  await target.stop();
  rmSync(dir, { recursive: true, force: true });
}

function record(label: string, m: CliMeasurement): void {
  if (m.code !== 0) throw new Error(`${label} exited with ${m.code}: ${m.stderr.slice(-500)}`);
  results.set(label, [...(results.get(label) ?? []), m]);
}
