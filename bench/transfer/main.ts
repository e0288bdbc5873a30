/**
 * The transfer benchmark (issue #4), run by `npm run bench` after the re-route one (or alone with
 * `--transfer-only`): the transfer core (a) against the naive hand-written loop (n), moving the
 * same seeded jobs from one local Redis (source) to another (target), at loopback and with 0.5 ms
 * added round trip in front of both servers. See bench/README.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServerHandle } from '../../test/support/redis-server.js';
import { totalJobs, type Scale } from '../config.js';
import { calibrateProxy, type LatencyCalibration } from '../latency/calibrate.js';
import { pingRtt } from '../latency/ping-rtt.js';
import type { DelayProxy } from '../latency/proxy-stats.js';
import { startDelayProxy } from '../latency/start-proxy.js';
import { SLOWLOG_MAX_LEN } from '../redis/slowlog.js';
import type { Latency } from '../scenario.js';
import { benchRouting } from '../workload/routing.js';
import { TRANSFER_SETTINGS, transferProfile, type TransferProfile } from './config.js';
import { seedPristine, type TransferExpectations } from './data.js';
import { checkTransferTargets, formatTransferReport, transferRatios } from './report.js';
import { runTransferScenario, type TransferEnv, type TransferScenario, type TransferScenarioResult } from './scenario.js';

const describe = (s: Scale) => `${s.schedule.toLocaleString('en')} schedule + ${s.retry.toLocaleString('en')} retry + ${s.queued.toLocaleString('en')} queued`;
const sameScale = (a: Scale, b: Scale) => a.schedule === b.schedule && a.retry === b.retry && a.queued === b.queued;

/** The runs, in order. Runs on the same data are adjacent, so that each data set is seeded once. */
function plan(p: TransferProfile): TransferScenario[] {
  const ours = (latency: Latency): TransferScenario => ({ algorithm: 'ours', latency, scale: p.main, label: `(a) ours @ ${latency}`, big: false, repeats: p.repeats });
  const subset = totalJobs(p.naiveDelayed) < totalJobs(p.main) ? ' [subset]' : '';
  const floor = (latency: Latency): TransferScenario => ({ algorithm: 'floor', latency, scale: p.main, label: `(c) floor @ ${latency}`, big: false, repeats: p.repeats });
  return [
    ours('loopback'),
    floor('loopback'),
    // At loopback the naive loop's jobs/s is its round-trip time, which other processes on a small
    // VM easily double: it gets a median too. At 0.5 ms the proxies' delay dominates.
    { algorithm: 'naive', latency: 'loopback', scale: p.main, label: '(n) naive loop @ loopback', big: false, repeats: p.repeats },
    ours('0.5ms'),
    floor('0.5ms'),
    { algorithm: 'naive', latency: '0.5ms', scale: p.naiveDelayed, label: `(n) naive loop @ 0.5ms${subset}`, big: false, repeats: 1 },
    { algorithm: 'ours', latency: 'loopback', scale: p.big, label: `(a) ours @ loopback, ${totalJobs(p.big).toLocaleString('en')} jobs`, big: true, repeats: 1 },
  ];
}

export interface TransferBenchOptions {
  readonly quick: boolean;
  readonly started: Date;
  readonly log: (line: string) => void;
}

/** Runs the transfer part, prints its report to stdout, writes reports/bench/transfer-*.json; false when a run left the data wrong. */
export async function runTransferBench({ quick, started, log }: TransferBenchOptions): Promise<boolean> {
  const profile = transferProfile(quick);
  const loadBefore = loadavg()[0]!;
  log(`transfer benchmark (${profile.name}); starting the source and target redis-servers`);
  const servers: RedisServerHandle[] = [];
  const proxies: DelayProxy[] = [];
  const admins: Redis[] = [];
  try {
    const slowlog = ['--slowlog-max-len', String(SLOWLOG_MAX_LEN), '--slowlog-log-slower-than', '10000'];
    servers.push(await startRedisServer(slowlog), await startRedisServer(slowlog));
    const [sourceServer, targetServer] = servers as [RedisServerHandle, RedisServerHandle];
    admins.push(new Redis({ host: '127.0.0.1', port: sourceServer.port, db: 0, protocol: 2 }), new Redis({ host: '127.0.0.1', port: targetServer.port, db: 0, protocol: 2 }));
    proxies.push(await startDelayProxy(sourceServer.port, log), await startDelayProxy(targetServer.port, log));
    const env: TransferEnv = {
      source: admins[0]!,
      target: admins[1]!,
      ports: { source: sourceServer.port, target: targetServer.port },
      proxies: { source: proxies[0]!, target: proxies[1]! },
      log,
    };
    const redisVersion = /redis_version:(\S+)/.exec(await env.source.info('server'))?.[1] ?? '?';
    const routing = benchRouting();

    const scenarios = plan(profile);
    const results: TransferScenarioResult[] = [];
    let calibration: { source: LatencyCalibration; target: LatencyCalibration } | null = null;
    let addedAfter: { source: number; target: number } | null = null;
    let pristine: TransferExpectations | null = null;
    let first: TransferExpectations | null = null;
    for (const [i, scenario] of scenarios.entries()) {
      if (scenario.latency === '0.5ms' && calibration === null) {
        log(`calibrating both delay proxies to +${TRANSFER_SETTINGS.addedRttMicros} µs round trip`);
        calibration = {
          source: await calibrateProxy(env.proxies.source, env.ports.source, TRANSFER_SETTINGS.addedRttMicros),
          target: await calibrateProxy(env.proxies.target, env.ports.target, TRANSFER_SETTINGS.addedRttMicros),
        };
        log(`proxies add ${calibration.source.addedMicros.toFixed(0)} µs (source) and ${calibration.target.addedMicros.toFixed(0)} µs (target)`);
      }
      if (scenario.latency === 'loopback' && calibration !== null && addedAfter === null) {
        const added = async (proxy: DelayProxy, port: number) => (await pingRtt(proxy.port)).medianMicros - (await pingRtt(port)).medianMicros;
        addedAfter = { source: await added(env.proxies.source, env.ports.source), target: await added(env.proxies.target, env.ports.target) };
      }
      if (pristine === null || !sameScale(pristine.scale, scenario.scale)) {
        log(`seeding the source's pristine copy: ${describe(scenario.scale)} (${totalJobs(scenario.scale).toLocaleString('en')} jobs)`);
        const seedStart = performance.now();
        pristine = await seedPristine(env.ports.source, routing, scenario.scale);
        first ??= pristine;
        log(`seeded in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`);
      }
      const lastUse = !scenarios.slice(i + 1).some((s) => sameScale(s.scale, scenario.scale));
      results.push(await runTransferScenario(env, scenario, pristine, lastUse));
    }

    const rs = transferRatios(results);
    const checks = checkTransferTargets(results, rs);
    const proxyKind = env.proxies.source.kind === 'native' ? 'C (epoll + timerfd deadlines)' : 'Node fallback (spins while data is in flight)';
    const header = [
      `sidekiq-migrate transfer benchmark (${profile.name}) — ${started.toISOString()}`,
      `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GB; Node ${process.version}; two redis-server ${redisVersion} (source, target; no persistence)`,
      `workload: ${describe(profile.main)} over ${first!.queues.size} queues, from the source to an empty target; ` +
        `payloads ${first!.payloadBytes.min}–${first!.payloadBytes.max} B (mean ${first!.payloadBytes.mean.toFixed(0)}); the re-route benchmark's generator and seed; no routing`,
      `ours: runTransfer sliceSize ${TRANSFER_SETTINGS.sliceSize}, default lock TTL; naive loop: unpipelined ZRANGE page of ${TRANSFER_SETTINGS.naivePage} + ZADD/ZREM per entry, RPOP/LPUSH per queued job` +
        `; floor: bulk ZRANGE/ZADD/ZREMRANGEBYRANK and LRANGE/LPUSH/LTRIM, ${TRANSFER_SETTINGS.floorPage} jobs per page; naive subset @ 0.5ms: ${describe(profile.naiveDelayed)}`,
      `machine load (1-minute load average, ${cpus().length} cores): ${loadBefore.toFixed(2)} when the transfer part started, ${loadavg()[0]!.toFixed(2)} at its end`,
      `delay proxies: ${proxyKind}, one in front of each server` +
        (addedAfter ? `; re-measured after the 0.5 ms runs: add ${addedAfter.source.toFixed(0)} µs (source), ${addedAfter.target.toFixed(0)} µs (target)` : ''),
    ];
    process.stdout.write(`\n${formatTransferReport(header, calibration, results, rs, checks)}\n`);

    const outDir = fileURLToPath(new URL('../../reports/bench/', import.meta.url));
    mkdirSync(outDir, { recursive: true });
    const file = `${outDir}transfer-${started.toISOString().replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`;
    writeFileSync(file, `${JSON.stringify({ profile, settings: TRANSFER_SETTINGS, header, calibration, proxyAddedAfterMicros: addedAfter, results, ratios: rs, targets: checks }, null, 2)}\n`);
    process.stdout.write(`\nwritten: ${file}\n`);
    return results.every((r) => r.runs.every((m) => m.verification.ok));
  } finally {
    for (const admin of admins) admin.disconnect();
    for (const proxy of proxies) await proxy.stop();
    for (const server of servers) await server.stop();
  }
}
