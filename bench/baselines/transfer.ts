import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServerHandle } from '../../test/support/redis-server.js';
import { measureCli } from '../cli/cli-process.js';
import { totalJobs, type Scale } from '../config.js';
import type { RunResult } from '../runner/protocol.js';
import { spawnChild } from '../runner/spawn-runner.js';
import { TRANSFER_SETTINGS } from '../transfer/config.js';
import { seedPristine, stageRun, type TransferExpectations } from '../transfer/data.js';
import type { TransferRunRequest } from '../transfer/protocol.js';
import { verifyTransfer, type TransferVerification } from '../transfer/verify.js';
import { cliMoved } from './cli-summary.js';
import { withDelayProxies } from './delayed.js';
import type { PartBaselines, PartEnv } from './reroute.js';
import { lastJsonLine, RUBY_SCRIPTS, runRuby } from './ruby.js';
import { medianRow, type BaselineRow, type PartRows } from './rows.js';

const TRANSFER_CHILD = fileURLToPath(new URL('../transfer/child.ts', import.meta.url));

const verdict = (v: TransferVerification, extra = '') => (v.ok ? `ok, exact bytes${extra}` : `WRONG: ${v.problems.join('; ')}`);

/**
 * Transfer between two Redis servers: ours in process (`runTransfer` in a child, as the transfer
 * benchmark runs it), ours as a user runs it (`sidekiq-migrate move --from URL --to URL`), and the
 * Ruby hand loop (`ruby hand_loop.rb OLD NEW`), each from a fresh copy of the same seeded data
 * (the transfer benchmark's pristine copy, COPYed into database 0 before each run); then the two
 * commands again with a delay proxy (+0.5 ms round trip) in front of each server, the hand loop on
 * a subset (it is round-trip bound), seeded last because it replaces the pristine copy.
 */
export async function transferBaselines({ profile, routing, ruby, log, pin }: PartEnv): Promise<PartBaselines> {
  const servers: RedisServerHandle[] = [];
  const admins: Redis[] = [];
  try {
    servers.push(await startRedisServer(), await startRedisServer());
    const [from, to] = servers as [RedisServerHandle, RedisServerHandle];
    for (const server of servers) pin.server(server.pid);
    admins.push(new Redis(from.url, { protocol: 2 }), new Redis(to.url, { protocol: 2 }));
    const [source, target] = admins as [Redis, Redis];
    const { ours: scale, ruby: rubyScale, rubyDelayed } = profile.transfer;
    // The source's pristine copy (database 1) holds one data set at a time: re-seeded only when a
    // row needs another size, and copied (never moved) into database 0 before each run.
    let current: TransferExpectations | null = null;
    const pristine = async (s: Scale): Promise<TransferExpectations> => {
      if (current !== null && current.scale.schedule === s.schedule && current.scale.retry === s.retry && current.scale.queued === s.queued) return current;
      log(`baselines: seeding the source's pristine copy (${totalJobs(s).toLocaleString('en')} jobs)`);
      current = await seedPristine(from.port, routing, s);
      return current;
    };
    const expected = await pristine(scale);

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

    const loopback: PartRows = { inProcess, whole: await whole(from.url, to.url, 'loopback'), ruby: await handLoop(from.url, to.url, rubyScale) };
    const delayed = await withDelayProxies([from.port, to.port], pin, log, async ([fromUrl, toUrl]) => ({
      inProcess: null,
      whole: await whole(fromUrl!, toUrl!, '0.5 ms'),
      ruby: await handLoop(fromUrl!, toUrl!, rubyDelayed),
    }));
    return { loopback, delayed: delayed.result, latency: delayed.latency };

    function whole(fromUrl: string, toUrl: string, network: string): Promise<BaselineRow> {
      return medianRow(profile.repeats, async (i) => {
        const expected = await pristine(scale);
        await stageRun(source, target, expected, false);
        log(`baselines: (A) sidekiq-migrate move --from URL --to URL @ ${network} #${i + 1}`);
        const cli = await measureCli(['move', '--from', fromUrl, '--to', toUrl, '--json']);
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
    }

    async function handLoop(fromUrl: string, toUrl: string, rubyScale: Scale): Promise<BaselineRow> {
      const base = { label: '(r) Ruby hand loop (ZADD/ZREM, RPOP/LPUSH per job)', scale: rubyScale, subset: totalJobs(rubyScale) < totalJobs(scale) };
      if (!ruby.ok) return { ...base, inProcessSeconds: null, wholeSeconds: null, note: `not run: ${ruby.why}`, ok: true };
      const rubyExpected = await pristine(rubyScale);
      await stageRun(source, target, rubyExpected, false);
      log(`baselines: (r) ruby hand_loop.rb OLD NEW (${totalJobs(rubyScale).toLocaleString('en')} jobs)`);
      const r = await runRuby([RUBY_SCRIPTS.timed, RUBY_SCRIPTS.handLoop, fromUrl, toUrl]);
      const seconds = lastJsonLine<{ seconds: number }>(r.stderr)?.seconds ?? null;
      const total = Number(r.stdout.trim());
      if (r.code !== 0 || seconds === null || !Number.isInteger(total)) {
        return { ...base, inProcessSeconds: null, wholeSeconds: null, note: `FAILED: exit ${r.code}: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`, ok: false };
      }
      // The loop prints one total: split it as seeded when it matches, so a wrong total shows as wrong.
      const setTotal = [...rubyExpected.sets.values()].reduce((n, d) => n + d.count, 0);
      const v = await verifyTransfer(source, target, rubyExpected, { sets: Math.min(total, setTotal), queued: total - Math.min(total, setTotal) }, null);
      return { ...base, inProcessSeconds: seconds, wholeSeconds: r.wallMs / 1000, note: verdict(v), ok: v.ok };
    }
  } finally {
    for (const admin of admins) admin.disconnect();
    for (const server of servers) await server.stop();
  }
}

