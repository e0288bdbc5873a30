import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServerHandle } from '../../test/support/redis-server.js';
import { measureCli } from '../cli/cli-process.js';
import { totalJobs, type Scale } from '../config.js';
import type { RunResult } from '../runner/protocol.js';
import { spawnChild } from '../runner/spawn-runner.js';
import { TRANSFER_SETTINGS } from '../transfer/config.js';
import { seedPristine, stageRun } from '../transfer/data.js';
import type { TransferRunRequest } from '../transfer/protocol.js';
import { verifyTransfer, type TransferVerification } from '../transfer/verify.js';
import { cliMoved } from './cli-summary.js';
import type { PartEnv } from './reroute.js';
import { lastJsonLine, RUBY_SCRIPTS, runRuby } from './ruby.js';
import { medianRow, type BaselineRow } from './rows.js';

const TRANSFER_CHILD = fileURLToPath(new URL('../transfer/child.ts', import.meta.url));

export interface TransferBaselines {
  readonly inProcess: BaselineRow;
  readonly whole: BaselineRow;
  readonly ruby: BaselineRow;
}

const verdict = (v: TransferVerification, extra = '') => (v.ok ? `ok, exact bytes${extra}` : `WRONG: ${v.problems.join('; ')}`);

/**
 * Transfer between two Redis servers: ours in process (`runTransfer` in a child, as the transfer
 * benchmark runs it), ours as a user runs it (`sidekiq-migrate move --from URL --to URL`), and the
 * Ruby hand loop (`ruby hand_loop.rb OLD NEW`), each from a fresh copy of the same seeded data
 * (the transfer benchmark's pristine copy, COPYed into database 0 before each run).
 */
export async function transferBaselines({ profile, routing, ruby, log }: PartEnv): Promise<TransferBaselines> {
  const servers: RedisServerHandle[] = [];
  const admins: Redis[] = [];
  try {
    servers.push(await startRedisServer(), await startRedisServer());
    const [from, to] = servers as [RedisServerHandle, RedisServerHandle];
    admins.push(new Redis(from.url, { protocol: 2 }), new Redis(to.url, { protocol: 2 }));
    const [source, target] = admins as [Redis, Redis];
    const { ours: scale, ruby: rubyScale } = profile.transfer;
    const sameSize = totalJobs(rubyScale) === totalJobs(scale) && rubyScale.schedule === scale.schedule && rubyScale.retry === scale.retry;
    const seed = async (s: Scale) => {
      log(`baselines: seeding the source's pristine copy (${totalJobs(s).toLocaleString('en')} jobs)`);
      return seedPristine(from.port, routing, s);
    };
    const expected = await seed(scale);

    const inProcess = await medianRow(profile.repeats, async (i) => {
      await stageRun(source, target, expected, false);
      log(`baselines: (a) ours in process #${i + 1}: transferring`);
      const runId = `bench-baselines-${process.pid}-${i}`;
      const request: TransferRunRequest = {
        algorithm: 'ours',
        sourcePort: from.port,
        targetPort: to.port,
        scale,
        sets: (['schedule', 'retry'] as const).filter((s) => scale[s] > 0),
        sliceSize: TRANSFER_SETTINGS.sliceSize,
        naivePage: TRANSFER_SETTINGS.naivePage,
        floorPage: TRANSFER_SETTINGS.floorPage,
        runId,
        label: 'baselines (a) ours transfer',
      };
      const run = await spawnChild<TransferRunRequest, RunResult>(TRANSFER_CHILD, request, request.label);
      const v = await verifyTransfer(source, target, expected, { sets: run.movedSets, queued: run.movedQueued }, `sidekiq-migrate:${runId}:ledger:`);
      return { label: '(a) ours: runTransfer in process', scale, subset: false, inProcessSeconds: run.setsSeconds + run.queuesSeconds, wholeSeconds: null, note: verdict(v), ok: v.ok };
    });

    const whole = await medianRow(profile.repeats, async (i) => {
      await stageRun(source, target, expected, false);
      log(`baselines: (A) sidekiq-migrate move --from URL --to URL #${i + 1}`);
      const cli = await measureCli(['move', '--from', from.url, '--to', to.url, '--json']);
      const moved = cli.code === 0 ? cliMoved(cli.stdout, 'written') : null;
      // The CLI names its run itself: its bookkeeping (ledgers with a TTL) is under sidekiq-migrate:.
      const v = moved === null ? null : await verifyTransfer(source, target, expected, moved, 'sidekiq-migrate:');
      return {
        label: '(A) ours: sidekiq-migrate move',
        scale,
        subset: false,
        inProcessSeconds: null,
        wholeSeconds: cli.wallMs / 1000,
        note: v ? verdict(v, `; process CPU ${(cli.cpuMs / 1000).toFixed(1)} s, peak RSS ${Math.round(cli.peakRssBytes / 2 ** 20)} MB`) : `FAILED: exit ${cli.code}: ${cli.stderr.trim().split('\n').slice(-2).join(' | ')}`,
        ok: v?.ok === true,
      };
    });

    const base = { label: '(r) Ruby hand loop (ZADD/ZREM, RPOP/LPUSH per job)', scale: rubyScale, subset: totalJobs(rubyScale) < totalJobs(scale) };
    if (!ruby.ok) return { inProcess, whole, ruby: { ...base, inProcessSeconds: null, wholeSeconds: null, note: `not run: ${ruby.why}`, ok: true } };
    const rubyExpected = sameSize ? expected : await seed(rubyScale);
    await stageRun(source, target, rubyExpected, true);
    log('baselines: (r) ruby hand_loop.rb OLD NEW');
    const r = await runRuby([RUBY_SCRIPTS.timed, RUBY_SCRIPTS.handLoop, from.url, to.url]);
    const seconds = lastJsonLine<{ seconds: number }>(r.stderr)?.seconds ?? null;
    const total = Number(r.stdout.trim());
    if (r.code !== 0 || seconds === null || !Number.isInteger(total)) {
      return { inProcess, whole, ruby: { ...base, inProcessSeconds: null, wholeSeconds: null, note: `FAILED: exit ${r.code}: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`, ok: false } };
    }
    // The loop prints one total: split it as seeded when it matches, so a wrong total shows as wrong.
    const setTotal = [...rubyExpected.sets.values()].reduce((n, d) => n + d.count, 0);
    const v3 = await verifyTransfer(source, target, rubyExpected, { sets: Math.min(total, setTotal), queued: total - Math.min(total, setTotal) }, null);
    return { inProcess, whole, ruby: { ...base, inProcessSeconds: seconds, wholeSeconds: r.wallMs / 1000, note: verdict(v3), ok: v3.ok } };
  } finally {
    for (const admin of admins) admin.disconnect();
    for (const server of servers) await server.stop();
  }
}

