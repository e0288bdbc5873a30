import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startRedisServer } from '../../test/support/redis-server.js';
import { measureCli } from '../cli/cli-process.js';
import { SETTINGS, totalJobs, type Scale } from '../config.js';
import { seedWorkload } from '../redis/seed.js';
import { verifyRun } from '../redis/verify.js';
import { spawnRunner } from '../runner/spawn-runner.js';
import type { BenchRouting } from '../workload/routing.js';
import type { BaselinesProfile } from './config.js';
import { withDelayProxies, type DelayReport } from './delayed.js';
import type { Pinning } from './pinning.js';
import { cliMoved } from './cli-summary.js';
import { lastJsonLine, RUBY_SCRIPTS, runRuby, type RubyAvailability } from './ruby.js';
import { medianRow, type BaselineRow, type PartRows } from './rows.js';

export interface PartEnv {
  readonly profile: BaselinesProfile;
  readonly routing: BenchRouting;
  readonly ruby: RubyAvailability;
  /** A private temporary directory (mapping file, the baseline's log). */
  readonly dir: string;
  readonly log: (line: string) => void;
  /** Where the Redis servers go (and where the clients already are). */
  readonly pin: Pinning;
}

/** A part's rows at loopback and with 0.5 ms added round trip (whole commands only), and how that network behaved. */
export interface PartBaselines {
  readonly loopback: PartRows;
  readonly delayed: PartRows;
  readonly latency: DelayReport;
}

interface GitlabSummary {
  readonly seconds: number;
  /** The JSON library it parsed and dumped with (Oj when installed, as GitLab; else the stdlib). */
  readonly json: string;
  readonly result: { readonly migrated: number };
  readonly total_commands: number;
}

/**
 * Re-route on one Redis: ours in process (`runReroute` in a child, as the re-route benchmark runs
 * it), ours as a user runs it (`sidekiq-migrate run --redis URL --mapping FILE`), and GitLab's
 * algorithm in Ruby (the three rake tasks: schedule, retry, queued — one process each), each on a
 * fresh seeding of the same data and with the same class → queue mapping; then the two commands
 * again through a delay proxy (+0.5 ms round trip), GitLab's on a subset (it is round-trip bound).
 */
export async function rerouteBaselines({ profile, routing, ruby, dir, log, pin }: PartEnv): Promise<PartBaselines> {
  const mappingFile = join(dir, 'mapping.json');
  writeFileSync(mappingFile, `${JSON.stringify(Object.fromEntries(routing.workers.map((w) => [w.className, w.destination])))}\n`);
  const server = await startRedisServer();
  pin.server(server.pid);
  const admin = new Redis(server.url, { protocol: 2 });
  const { ours: scale, ruby: rubyScale, rubyDelayed } = profile.reroute;
  const seed = async (label: string, s = scale) => {
    log(`baselines: ${label}: seeding ${totalJobs(s).toLocaleString('en')} jobs`);
    return seedWorkload(admin, routing, s);
  };
  try {
    const inProcess = await medianRow(profile.repeats, async (i) => {
      const expected = await seed(`(a) ours in process #${i + 1}`);
      log('baselines: (a) ours in process: migrating');
      const run = await spawnRunner({ algorithm: 'ours', port: server.port, scale, pageSize: SETTINGS.pageSize, luaBatch: SETTINGS.luaBatch, floorPipelineJobs: SETTINGS.floorPipelineJobs, label: 'baselines (a) ours' });
      const v = await verifyRun(admin, routing, scale, expected, { sets: run.movedSets, queued: run.movedQueued }, true);
      return {
        label: '(a) ours: runReroute in process',
        scale,
        subset: false,
        inProcessSeconds: run.setsSeconds + run.queuesSeconds,
        wholeSeconds: null,
        note: v.ok ? 'ok, exact bytes' : `WRONG: ${v.problems.join('; ')}`,
        ok: v.ok,
      };
    });

    const loopback: PartRows = { inProcess, whole: await whole(server.url, 'loopback'), ruby: await gitlabRuby(server.url, rubyScale) };
    const delayed = await withDelayProxies([server.port], pin, log, async ([url]) => ({ inProcess: null, whole: await whole(url!, '0.5 ms'), ruby: await gitlabRuby(url!, rubyDelayed) }));
    return { loopback, delayed: delayed.result, latency: delayed.latency };

    function whole(url: string, network: string): Promise<BaselineRow> {
      return medianRow(profile.repeats, async (i) => {
        const expected = await seed(`(A) sidekiq-migrate run @ ${network} #${i + 1}`);
        log(`baselines: (A) sidekiq-migrate run --redis URL --mapping FILE @ ${network}`);
        const cli = await measureCli(['run', '--redis', url, '--mapping', mappingFile, '--json']);
        const moved = cli.code === 0 ? cliMoved(cli.stdout, 'moved') : null;
        const v = moved === null ? null : await verifyRun(admin, routing, scale, expected, moved, true);
        const ok = v?.ok === true;
        return {
          label: '(A) ours: sidekiq-migrate run --mapping',
          scale,
          subset: false,
          inProcessSeconds: null,
          wholeSeconds: cli.wallMs / 1000,
          note: ok ? `ok, exact bytes; process CPU ${(cli.cpuMs / 1000).toFixed(1)} s, peak RSS ${Math.round(cli.peakRssBytes / 2 ** 20)} MB` : `WRONG: exit ${cli.code}; ${v?.problems.join('; ') ?? cli.stderr.trim().split('\n').slice(-2).join(' | ')}`,
          ok,
        };
      });
    }

    async function gitlabRuby(url: string, rubyScale: Scale): Promise<BaselineRow> {
      const base = { label: "(r) GitLab's algorithm in Ruby (3 rake tasks)", scale: rubyScale, subset: totalJobs(rubyScale) < totalJobs(scale) };
      if (!ruby.ok) return { ...base, inProcessSeconds: null, wholeSeconds: null, note: `not run: ${ruby.why}`, ok: true };
      const rubyExpected = await seed('(r) GitLab in Ruby', rubyScale);
      let wallMs = 0;
      let seconds = 0;
      let codec = '?';
      let commands = 0;
      const migrated = { sets: 0, queued: 0 };
      for (const task of [['set', 'schedule'], ['set', 'retry'], ['queued']]) {
        log(`baselines: (r) ruby gitlab_algorithm.rb ${task.join(' ')}`);
        const r = await runRuby([RUBY_SCRIPTS.gitlab, url, ...task, '--mapping', mappingFile, '--log', join(dir, 'gitlab.log')]);
        const summary = lastJsonLine<GitlabSummary>(r.stderr);
        if (r.code !== 0 || summary === null) {
          return { ...base, inProcessSeconds: null, wholeSeconds: null, note: `FAILED: ${task.join(' ')} exited ${r.code}: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`, ok: false };
        }
        wallMs += r.wallMs;
        seconds += summary.seconds;
        codec = summary.json;
        commands += summary.total_commands;
        migrated[task[0] === 'set' ? 'sets' : 'queued'] += summary.result.migrated;
      }
      // It re-serialises every payload it moves (JSON.generate), so only the counts can be checked.
      const v = await verifyRun(admin, routing, rubyScale, rubyExpected, migrated, false);
      return { ...base, inProcessSeconds: seconds, wholeSeconds: wallMs / 1000, note: v.ok ? `ok, counts (it re-serialises payloads); ${(commands / totalJobs(rubyScale)).toFixed(2)} round trips/job; JSON: ${codec}` : `WRONG: ${v.problems.join('; ')}`, ok: v.ok };
    }
  } finally {
    admin.disconnect();
    await server.stop();
  }
}
