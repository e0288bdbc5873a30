/**
 * The selective-move part of `npm run bench` (issue 17; alone with `--selective-only`, `--quick`
 * works too): a shard move that carries the jobs of a tenth of the worker classes from shared
 * queues to another Redis, leaving every other job in place. Ours as a user runs it
 * (`sidekiq-migrate move --from URL --to URL --classes-file FILE`, spawn to exit) against the hand
 * loop people write for it in Ruby (baselines/selective_hand_loop.rb: read the list, LPUSH on the
 * new Redis, LREM on the old, one job at a time), each on a fresh copy of the same seeded data, at
 * loopback. Prints the table and writes reports/bench/selective-*.json. See bench/README.md.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { buildCli } from '../../scripts/build-cli.js';
import { startRedisServer, type RedisServerHandle } from '../../test/support/redis-server.js';
import { cliMoved } from '../baselines/cli-summary.js';
import { lastJsonLine, RUBY_SCRIPTS, rubyAvailability, runRuby } from '../baselines/ruby.js';
import { measureCli } from '../cli/cli-process.js';
import { stageRun } from '../transfer/data.js';
import { benchRouting } from '../workload/routing.js';
import { selectiveProfile, SHARED_QUEUES, WHOLE_COMMAND_GOAL } from './config.js';
import { seedSelective, type SelectiveExpectations } from './data.js';
import { verifySelective, type SelectiveVerification } from './verify.js';

export interface SelectiveBenchOptions {
  readonly quick: boolean;
  readonly started: Date;
  readonly log: (line: string) => void;
}

/** One measured run: ours or the Ruby loop. */
export interface SelectiveRow {
  readonly label: string;
  /** Spawn to exit, or null when it did not run or failed. */
  readonly wholeSeconds: number | null;
  /** The migration alone (Ruby: after Ruby and redis-rb are loaded), when known. */
  readonly inProcessSeconds: number | null;
  readonly moved: number | null;
  readonly peakRssMb: number | null;
  readonly note: string;
  readonly ok: boolean;
  /** Stopped at the profile's cap before it finished (the Ruby loop): its seconds are a lower bound. */
  readonly stoppedAt: number | null;
}

const int = (n: number) => Math.round(n).toLocaleString('en');
const verdict = (v: SelectiveVerification) => (v.ok ? `ok, exact bytes on both sides${v.orderKept ? '' : ' (order not kept)'}` : `WRONG: ${v.problems.join('; ')}`);
const failure = (code: number | null, stderr: string) => `FAILED: exit ${code}: ${stderr.trim().split('\n').slice(-2).join(' | ')}`;

async function ours(from: RedisServerHandle, to: RedisServerHandle, source: Redis, target: Redis, expected: SelectiveExpectations, classesFile: string): Promise<SelectiveRow> {
  const cli = await measureCli(['move', '--from', from.url, '--to', to.url, '--classes-file', classesFile, '--json']);
  const label = '(A) ours: sidekiq-migrate move --classes-file';
  if (cli.code !== 0) return { label, wholeSeconds: null, inProcessSeconds: null, moved: null, peakRssMb: null, note: failure(cli.code, cli.stderr), ok: false, stoppedAt: null };
  const moved = cliMoved(cli.stdout, 'written');
  const v = await verifySelective(source, target, expected, 'sidekiq-migrate:');
  const countOk = moved?.queued === expected.movedCount;
  return {
    label,
    wholeSeconds: cli.wallMs / 1000,
    inProcessSeconds: null,
    moved: moved?.queued ?? null,
    peakRssMb: Math.round(cli.peakRssBytes / 2 ** 20),
    note: `${verdict(v)}${countOk ? '' : `; WRONG count: summary says ${moved?.queued ?? '?'} written`}; process CPU ${(cli.cpuMs / 1000).toFixed(1)} s`,
    ok: v.ok && countOk,
    stoppedAt: null,
  };
}

async function ruby(
  from: RedisServerHandle,
  to: RedisServerHandle,
  source: Redis,
  target: Redis,
  expected: SelectiveExpectations,
  classesFile: string,
  capSeconds: number,
): Promise<SelectiveRow> {
  const label = '(r) Ruby hand loop (LRANGE; LPUSH + LREM per job)';
  const none = { wholeSeconds: null, inProcessSeconds: null, moved: null, peakRssMb: null, stoppedAt: null };
  const available = rubyAvailability();
  if (!available.ok) return { label, ...none, note: `not run: ${available.why}`, ok: true };
  const r = await runRuby([RUBY_SCRIPTS.timed, RUBY_SCRIPTS.selectiveHandLoop, from.url, to.url, classesFile], capSeconds * 1000);
  if (r.timedOut) {
    // Killed mid-way: what it moved so far is on the target (its exact bytes are not checked).
    const movedSoFar = (await Promise.all([...expected.moved.keys()].map((q) => target.llen(`queue:${q}`)))).reduce((a, b) => a + b, 0);
    return { label, ...none, moved: movedSoFar, stoppedAt: r.wallMs / 1000, note: `stopped at the cap after ${(r.wallMs / 1000).toFixed(0)} s, ${int(movedSoFar)} of ${int(expected.movedCount)} moved`, ok: true };
  }
  const timing = lastJsonLine<{ seconds: number; peak_rss_kb?: number }>(r.stderr);
  const moved = Number(r.stdout.trim());
  if (r.code !== 0 || timing === null || !Number.isInteger(moved)) return { label, ...none, note: failure(r.code, r.stderr), ok: false };
  const v = await verifySelective(source, target, expected, null);
  const countOk = moved === expected.movedCount;
  return {
    label,
    wholeSeconds: r.wallMs / 1000,
    inProcessSeconds: timing.seconds,
    moved,
    peakRssMb: timing.peak_rss_kb === undefined ? null : Math.round(timing.peak_rss_kb / 1024),
    note: `${verdict(v)}${countOk ? '' : `; WRONG count: it says ${moved} moved`}`,
    ok: v.ok && countOk,
    stoppedAt: null,
  };
}

/** PASS or MISS against the goal; with the Ruby loop stopped at its cap, PASS only if even the bound reaches it. */
function ratioVerdict(ratio: number | null, atLeast: number | null, rows: SelectiveRow[]): string {
  const goal = `(goal ≥ ${WHOLE_COMMAND_GOAL}× at loopback, whole command)`;
  if (ratio !== null) return `${ratio >= WHOLE_COMMAND_GOAL ? 'PASS' : 'MISS'} ${ratio.toFixed(1)}× ${goal}`;
  if (atLeast !== null) return atLeast >= WHOLE_COMMAND_GOAL ? `PASS ≥ ${atLeast.toFixed(1)}× ${goal}` : `no verdict: ≥ ${atLeast.toFixed(1)}× so far, the Ruby loop stopped at its cap ${goal}`;
  return `no ratio: ${rows.filter((x) => !x.ok || x.wholeSeconds === null).map((x) => `${x.label}: ${x.note}`).join('; ')}`;
}

/** Runs the selective part; false when a run failed or left the data wrong (a slow figure is a MISS, not a failure). */
export async function runSelectiveBench({ quick, started, log }: SelectiveBenchOptions): Promise<boolean> {
  const profile = selectiveProfile(quick);
  const loadBefore = loadavg();
  log(`selective move (${profile.name}): building the CLI (dist/)`);
  await buildCli();
  const dir = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-bench-selective-'));
  const servers: RedisServerHandle[] = [];
  const admins: Redis[] = [];
  try {
    servers.push(await startRedisServer(), await startRedisServer());
    const [from, to] = servers as [RedisServerHandle, RedisServerHandle];
    admins.push(new Redis(from.url, { protocol: 2 }), new Redis(to.url, { protocol: 2 }));
    const [source, target] = admins as [Redis, Redis];
    log(`selective move: seeding the source's pristine copy (${int(profile.jobs)} jobs on ${SHARED_QUEUES.length} shared queues)`);
    const expected = await seedSelective(from.port, benchRouting(), profile);
    // The CLI's --classes-file format (a JSON or YAML list of class names), read by the Ruby loop too.
    const classesFile = join(dir, 'classes.json');
    writeFileSync(classesFile, `${JSON.stringify(expected.selectedClasses)}\n`);

    await stageRun(source, target, expected, false);
    log('selective move: (A) sidekiq-migrate move --classes-file');
    const a = await ours(from, to, source, target, expected, classesFile);
    await stageRun(source, target, expected, true);
    log('selective move: (r) ruby selective_hand_loop.rb OLD NEW CLASSES');
    const r = await ruby(from, to, source, target, expected, classesFile, profile.rubyCapSeconds);

    const loadAfter = loadavg();
    const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(', ');
    const rate = (s: number | null) => (s === null ? '–' : `${int(profile.jobs / s)} jobs/s (${s.toFixed(2)} s)`);
    const movedRate = (row: SelectiveRow) => (row.wholeSeconds === null || row.moved === null ? '–' : `${int(row.moved / row.wholeSeconds)}/s`);
    const ratio = a.wholeSeconds !== null && r.wholeSeconds !== null && a.ok && r.ok ? r.wholeSeconds / a.wholeSeconds : null;
    // The Ruby loop stopped at the cap would have needed longer: a lower bound of the ratio.
    const ratioAtLeast = a.wholeSeconds !== null && a.ok && r.stoppedAt !== null ? r.stoppedAt / a.wholeSeconds : null;
    const inProcessRatio = a.wholeSeconds !== null && r.inProcessSeconds !== null && a.ok && r.ok ? r.inProcessSeconds / a.wholeSeconds : null;
    const width = Math.max(a.label.length, r.label.length);
    const line = (row: SelectiveRow) =>
      `  ${row.label.padEnd(width)}  ${rate(row.wholeSeconds).padEnd(28)}  ${(row.moved === null ? '–' : int(row.moved)).padStart(9)}  ${movedRate(row).padStart(9)}  ${(row.peakRssMb === null ? '–' : `${row.peakRssMb} MB`).padStart(8)}  ${row.note}`;
    const lines = [
      `sidekiq-migrate selective move against the hand loop (${profile.name}) — ${started.toISOString()}`,
      `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GB; Node ${process.version}; ${rubyAvailability().ok ? (rubyAvailability() as { version: string }).version : 'no Ruby'}; local redis-servers at loopback`,
      `load average (1, 5, 15 min): ${load(loadBefore)} at the start, ${load(loadAfter)} at the end`,
      `data: ${int(profile.jobs)} jobs of the ${'CE'} catalog's workers on ${SHARED_QUEUES.map(([q, s]) => `${q} ${Math.round(s * 100)} %`).join(', ')}; ${expected.selectedClasses.length} classes selected (10 %), ${int(expected.movedCount)} jobs of theirs to move`,
      'jobs/s = jobs on the source ÷ seconds, spawn to exit (start-up included); moved/s = jobs moved ÷ the same seconds; RSS = peak of the process',
      '',
      `  ${'run'.padEnd(width)}  ${'whole command'.padEnd(28)}  ${'moved'.padStart(9)}  ${'moved/s'.padStart(9)}  ${'peak RSS'.padStart(8)}  check`,
      line(a),
      line(r),
      `  Ruby in process (after its start-up): ${rate(r.inProcessSeconds)}`,
      `  ratio ours ÷ Ruby: whole command ${ratio !== null ? `${ratio.toFixed(1)}×` : ratioAtLeast !== null ? `≥ ${ratioAtLeast.toFixed(1)}× (Ruby stopped at the cap)` : '–'}; against Ruby in process ${inProcessRatio === null ? '–' : `${inProcessRatio.toFixed(1)}×`}`,
      `  ${ratioVerdict(ratio, ratioAtLeast, [a, r])}`,
    ];
    process.stdout.write(`\n${lines.join('\n')}\n`);
    const outDir = fileURLToPath(new URL('../../reports/bench/', import.meta.url));
    mkdirSync(outDir, { recursive: true });
    const file = `${outDir}selective-${started.toISOString().replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`;
    writeFileSync(file, `${JSON.stringify({ profile, lines, ours: a, ruby: r, ratio, ratioAtLeast, inProcessRatio, selectedClasses: expected.selectedClasses, movedExpected: expected.movedCount }, null, 2)}\n`);
    process.stdout.write(`\nwritten: ${file}\n`);
    return a.ok && r.ok;
  } finally {
    admins.forEach((c) => c.disconnect());
    for (const server of servers) await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
