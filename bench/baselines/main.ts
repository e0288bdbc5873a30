/**
 * The baselines part of `npm run bench` (issue 18; alone with `--baselines-only`, `--quick` works
 * too): what users run today, in Ruby — GitLab's migrate_jobs algorithm for a re-route, the hand
 * loop for a move between two Redis servers — beside ours in process and ours as a whole command
 * (`node bin/sidekiq-migrate.js run|move`, start-up included), on the same seeded data at
 * loopback. Prints the table and writes reports/bench/baselines-*.json. See bench/README.md.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCli } from '../../scripts/build-cli.js';
import { totalJobs, type Scale } from '../config.js';
import { benchRouting } from '../workload/routing.js';
import { baselinesProfile, WHOLE_COMMAND_GOAL } from './config.js';
import { rerouteBaselines } from './reroute.js';
import { formatRows } from './rows.js';
import { rubyAvailability } from './ruby.js';
import { transferBaselines } from './transfer.js';

export interface BaselinesBenchOptions {
  readonly quick: boolean;
  readonly started: Date;
  readonly log: (line: string) => void;
}

const describe = (s: Scale) => `${s.schedule.toLocaleString('en')} schedule + ${s.retry.toLocaleString('en')} retry + ${s.queued.toLocaleString('en')} queued`;

/** Runs the baselines part; false when a run failed or left the data wrong (a slow figure is a MISS, not a failure). */
export async function runBaselinesBench({ quick, started, log }: BaselinesBenchOptions): Promise<boolean> {
  const profile = baselinesProfile(quick);
  const loadBefore = loadavg();
  const ruby = rubyAvailability();
  log(`baselines (${profile.name}): ${ruby.ok ? ruby.version : ruby.why}; building the CLI (dist/)`);
  await buildCli();
  const dir = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-bench-baselines-'));
  try {
    const routing = benchRouting();
    const env = { profile, routing, ruby, dir, log };
    const reroute = await rerouteBaselines(env);
    const transfer = await transferBaselines(env);
    const loadAfter = loadavg();
    const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(', ');
    const header = [
      `sidekiq-migrate against what people run today (${profile.name}) — ${started.toISOString()}`,
      `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GB; Node ${process.version}; ${ruby.ok ? ruby.version : `Ruby: ${ruby.why}`}; local redis-servers at loopback, no pinning`,
      `load average (1, 5, 15 min): ${load(loadBefore)} at the start, ${load(loadAfter)} at the end (other processes slow every figure, Ruby's round trips too)`,
      'jobs/s = jobs seeded ÷ seconds; in process = the migration alone (ours: the core in a child process; Ruby: after Ruby and redis-rb are loaded); whole command = spawn to exit, start-up included',
    ];
    const r = formatRows(`re-route on one Redis: ${describe(profile.reroute.ours)}${totalJobs(profile.reroute.ruby) < totalJobs(profile.reroute.ours) ? `; Ruby [subset]: ${describe(profile.reroute.ruby)}` : ''}`, reroute, reroute.ruby);
    const t = formatRows(`transfer between two Redis: ${describe(profile.transfer.ours)}${totalJobs(profile.transfer.ruby) < totalJobs(profile.transfer.ours) ? `; Ruby [subset]: ${describe(profile.transfer.ruby)}` : ''}`, transfer, transfer.ruby);
    process.stdout.write(`\n${[...header, '', ...r.lines, '', ...t.lines].join('\n')}\n`);
    const outDir = fileURLToPath(new URL('../../reports/bench/', import.meta.url));
    mkdirSync(outDir, { recursive: true });
    const file = `${outDir}baselines-${started.toISOString().replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`;
    writeFileSync(file, `${JSON.stringify({ profile, header, goal: WHOLE_COMMAND_GOAL, reroute: { ...reroute, ratios: r.ratios }, transfer: { ...transfer, ratios: t.ratios } }, null, 2)}\n`);
    process.stdout.write(`\nwritten: ${file}\n`);
    return [reroute, transfer].every((p) => p.inProcess.ok && p.whole.ok && p.ruby.ok);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
