/**
 * The baselines part of `npm run bench` (issue 18; alone with `--baselines-only`, `--quick` works
 * too): what users run today, in Ruby — GitLab's migrate_jobs algorithm for a re-route, the hand
 * loop for a move between two Redis servers — beside ours in process and ours as a whole command
 * (`node bin/sidekiq-migrate.js run|move`, start-up included), on the same seeded data at
 * loopback; then the whole commands (ours and Ruby's) again with +0.5 ms round trip in front of
 * every Redis server. With `--pin`, Redis and the clients run on separate cores (as issue 18
 * measured; off by default). Prints the tables and writes reports/bench/baselines-*.json. See
 * bench/README.md.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCli } from '../../scripts/build-cli.js';
import { totalJobs, type Scale } from '../config.js';
import { benchRouting } from '../workload/routing.js';
import { baselinesProfile, DELAYED, LOOPBACK } from './config.js';
import { describeDelay } from './delayed.js';
import { startPinning } from './pinning.js';
import { rerouteBaselines, type PartBaselines } from './reroute.js';
import { formatRows } from './rows.js';
import { rubyAvailability } from './ruby.js';
import { transferBaselines } from './transfer.js';

export interface BaselinesBenchOptions {
  readonly quick: boolean;
  /** `--pin`: Redis on core 0, the clients on core 1. */
  readonly pin: boolean;
  readonly started: Date;
  readonly log: (line: string) => void;
}

const describe = (s: Scale) => `${s.schedule.toLocaleString('en')} schedule + ${s.retry.toLocaleString('en')} retry + ${s.queued.toLocaleString('en')} queued`;

/** Runs the baselines part; false when a run failed or left the data wrong (a slow figure is a MISS, not a failure). */
export async function runBaselinesBench({ quick, pin: wantPin, started, log }: BaselinesBenchOptions): Promise<boolean> {
  const profile = baselinesProfile(quick);
  const loadBefore = loadavg();
  const ruby = rubyAvailability();
  log(`baselines (${profile.name}): ${ruby.ok ? ruby.version : ruby.why}; building the CLI (dist/)`);
  await buildCli();
  const dir = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-bench-baselines-'));
  // Pinned before anything is started, so that every client inherits its core (pinning.ts).
  const pin = startPinning(wantPin, log);
  try {
    const routing = benchRouting();
    const env = { profile, routing, ruby, dir, log, pin };
    const reroute = await rerouteBaselines(env);
    const transfer = await transferBaselines(env);
    const loadAfter = loadavg();
    const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(', ');
    const header = [
      `sidekiq-migrate against what people run today (${profile.name}) — ${started.toISOString()}`,
      `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GB; Node ${process.version}; ${ruby.ok ? ruby.version : `Ruby: ${ruby.why}`}; local redis-servers`,
      `pinning: ${pin.description}${pin.on && loadBefore[0]! >= 1 ? ` — load ${loadBefore[0]!.toFixed(2)} at the start: a pinned process cannot leave a busy core, so other processes slow these figures more than unpinned ones` : ''}`,
      `load average (1, 5, 15 min): ${load(loadBefore)} at the start, ${load(loadAfter)} at the end (other processes slow every figure, Ruby's round trips too)`,
      'jobs/s = jobs seeded ÷ seconds; in process = the migration alone (ours: the core in a child process; Ruby: after Ruby and redis-rb are loaded); whole command = spawn to exit, start-up included',
    ];
    const tables = [
      ...table('re-route on one Redis', profile.reroute, reroute, ['Redis']),
      ...table('transfer between two Redis', profile.transfer, transfer, ['source', 'target']),
    ];
    process.stdout.write(`\n${[...header, ...tables.flatMap((t) => ['', ...t.lines])].join('\n')}\n`);
    const outDir = fileURLToPath(new URL('../../reports/bench/', import.meta.url));
    mkdirSync(outDir, { recursive: true });
    const file = `${outDir}baselines-${started.toISOString().replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`;
    const ratios = (i: number) => ({ loopback: tables[i]!.ratios, delayed: tables[i + 1]!.ratios });
    const json = { profile, header, goals: { loopback: LOOPBACK.goal, delayed: DELAYED.goal }, pinned: pin.on, reroute: { ...reroute, ratios: ratios(0) }, transfer: { ...transfer, ratios: ratios(2) } };
    writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
    process.stdout.write(`\nwritten: ${file}\n`);
    const rows = [reroute, transfer].flatMap((p) => [p.loopback.inProcess, p.loopback.whole, p.loopback.ruby, p.delayed.whole, p.delayed.ruby]);
    return rows.every((r) => r === null || r.ok);
  } finally {
    pin.release();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A part's two tables: at loopback, then at +0.5 ms (whole commands only) with how the proxies behaved. */
function table(what: string, scales: { ours: Scale; ruby: Scale; rubyDelayed: Scale }, part: PartBaselines, servers: readonly string[]) {
  const title = (network: string, ruby: Scale) => `${what} at ${network}: ${describe(scales.ours)}${totalJobs(ruby) < totalJobs(scales.ours) ? `; Ruby [subset]: ${describe(ruby)}` : ''}`;
  const loopback = formatRows(title('loopback', scales.ruby), part.loopback, LOOPBACK);
  const delayed = formatRows(title('+0.5 ms round trip', scales.rubyDelayed), part.delayed, DELAYED);
  return [loopback, { ...delayed, lines: [...delayed.lines, ...describeDelay(part.latency, servers)] }];
}
