/**
 * `npm run bench [-- --quick] [--reroute-only | --transfer-only | --cli-only | --baselines-only | --selective-only] [--pin]`: the re-route core (a)
 * against GitLab's algorithm (b) and the pipelined floor (c), side by side in one run, at loopback
 * and with 0.5 ms added round trip; then the transfer core against the naive hand-written loop,
 * between two Redis servers (transfer/main.ts); then the CLI's start-up time and peak RSS
 * (cli/main.ts); then ours against the Ruby baselines users run today, in process and as whole
 * commands, at loopback and +0.5 ms, with --pin Redis and the clients on separate cores
 * (baselines/main.ts); then a selective move of a tenth of the classes from shared queues
 * against the Ruby hand loop (selective/main.ts). Progress goes to stderr, the result tables to stdout,
 * everything to reports/bench/*.json. See bench/README.md for the method and how to read the output.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startRedisServer } from '../test/support/redis-server.js';
import { profile, RULES, SETTINGS, totalJobs, type Scale } from './config.js';
import { calibrateProxy, type LatencyCalibration } from './latency/calibrate.js';
import { intrinsicLatencyMicros } from './latency/intrinsic-latency.js';
import { pingRtt } from './latency/ping-rtt.js';
import type { DelayProxy } from './latency/proxy-stats.js';
import { startDelayProxy } from './latency/start-proxy.js';
import { SLOWLOG_MAX_LEN } from './redis/slowlog.js';
import { formatReport } from './report/table.js';
import { checkTargets, ratios } from './report/targets.js';
import { runScenario, type Latency, type Scenario, type ScenarioResult } from './scenario.js';
import { runBaselinesBench } from './baselines/main.js';
import { runCliBench } from './cli/main.js';
import { runSelectiveBench } from './selective/main.js';
import { runTransferBench } from './transfer/main.js';
import { benchRouting } from './workload/routing.js';
import { queueLayout } from './workload/workload.js';

const quick = process.argv.includes('--quick');
const rerouteOnly = process.argv.includes('--reroute-only');
const transferOnly = process.argv.includes('--transfer-only');
const cliOnly = process.argv.includes('--cli-only');
const baselinesOnly = process.argv.includes('--baselines-only');
const selectiveOnly = process.argv.includes('--selective-only');
// --pin: the baselines part pins Redis and its clients to separate cores, as issue 18 measured. Off by
// default: on a shared machine a pinned process cannot leave a busy core (bench/README.md).
const pin = process.argv.includes('--pin');
const bench = profile(quick);
const started = new Date();
const log = (line: string) => process.stderr.write(`[bench ${((Date.now() - started.getTime()) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
const describe = (s: Scale) => `${s.schedule.toLocaleString('en')} schedule + ${s.retry.toLocaleString('en')} retry + ${s.queued.toLocaleString('en')} queued`;

function plan(): Scenario[] {
  const at = (latency: Latency): Scenario[] => [
    { algorithm: 'ours', latency, scale: bench.main, label: `(a) ours @ ${latency}`, big: false, repeats: bench.repeats },
    { algorithm: 'floor', latency, scale: bench.main, label: `(c) floor @ ${latency}`, big: false, repeats: bench.repeats },
    {
      algorithm: 'gitlab',
      latency,
      scale: bench.baseline[latency === 'loopback' ? 'loopback' : 'delayed'],
      label: `(b) GitLab @ ${latency}${totalJobs(bench.baseline[latency === 'loopback' ? 'loopback' : 'delayed']) < totalJobs(bench.main) ? ' [subset]' : ''}`,
      big: false,
      repeats: 1,
    },
  ];
  return [...at('loopback'), ...at('0.5ms'), { algorithm: 'ours', latency: 'loopback', scale: bench.big, label: `(a) ours @ loopback, ${(totalJobs(bench.big) / 1e6).toFixed(1)}M jobs`, big: true, repeats: 1 }];
}

/** The re-route benchmark; false when a run left the data wrong. */
async function rerouteMain(): Promise<boolean> {
  log(`profile ${bench.name}; starting redis-server`);
  const server = await startRedisServer(['--slowlog-max-len', String(SLOWLOG_MAX_LEN), '--slowlog-log-slower-than', '10000']);
  const admin = new Redis({ host: '127.0.0.1', port: server.port, protocol: 2 });
  let proxy: DelayProxy | undefined;
  try {
    proxy = await startDelayProxy(server.port, log);
    const routing = benchRouting();
    const layout = queueLayout(routing);
    const redisVersion = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1] ?? '?';
    log('measuring the machine\'s intrinsic latency (redis-cli --intrinsic-latency 5)');
    const intrinsic = await intrinsicLatencyMicros(5);
    const results: ScenarioResult[] = [];
    let calibration: LatencyCalibration | null = null;
    let addedAfter: number | null = null;
    for (const scenario of plan()) {
      if (scenario.latency === '0.5ms' && calibration === null) {
        log(`calibrating the delay proxy to +${SETTINGS.addedRttMicros} µs round trip`);
        calibration = await calibrateProxy(proxy, server.port, SETTINGS.addedRttMicros);
        log(`proxy adds ${calibration.addedMicros.toFixed(0)} µs (one-way setting ${calibration.oneWayMicros.toFixed(0)} µs)`);
      }
      if (scenario.latency === 'loopback' && calibration !== null && addedAfter === null) {
        addedAfter = (await pingRtt(proxy.port)).medianMicros - (await pingRtt(server.port)).medianMicros;
      }
      results.push(await runScenario({ admin, redisPort: server.port, proxy, routing, log }, scenario));
    }

    const rs = ratios(results);
    const checks = checkTargets(results, rs);
    const first = results[0]!.median.expected;
    const header = [
      `sidekiq-migrate re-route benchmark (${bench.name}) — ${started.toISOString()}`,
      `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GB; Node ${process.version}; redis-server ${redisVersion} (no persistence)`,
      `workload: ${describe(bench.main)} over ${SETTINGS.queueCount} queues (${layout.retired.length} drained, ${layout.kept.length} destinations kept); ` +
        `payloads ${first.payloadBytes.min}–${first.payloadBytes.max} B (mean ${first.payloadBytes.mean.toFixed(0)}); ${(SETTINGS.alreadyRoutedShare * 100).toFixed(0)} % of set entries already routed`,
      `routing: ${routing.workers.length} CE workers, rules ${RULES.map((r) => `[${r[0]} → ${r[1]}]`).join(' ')}`,
      `ours: runReroute pageSize ${SETTINGS.pageSize}, luaBatch ${SETTINGS.luaBatch}; floor: ${SETTINGS.floorPipelineJobs} jobs per pipeline; GitLab subset @ 0.5ms: ${describe(bench.baseline.delayed)}`,
      `machine intrinsic latency (redis-cli --intrinsic-latency 5, worst stall of a spinning process): ${intrinsic ?? '?'} µs`,
      `delay proxy: ${proxy.kind === 'native' ? 'C (epoll + timerfd deadlines)' : 'Node fallback (spins while data is in flight)'}` +
        (addedAfter !== null ? `; re-measured after the 0.5 ms runs: adds ${addedAfter.toFixed(0)} µs` : ''),
    ];
    const report = formatReport(header, calibration, results, rs, checks);
    process.stdout.write(`${report}\n`);

    const outDir = fileURLToPath(new URL('../reports/bench/', import.meta.url));
    mkdirSync(outDir, { recursive: true });
    const file = `${outDir}reroute-${started.toISOString().replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`;
    writeFileSync(file, `${JSON.stringify({ profile: bench, settings: SETTINGS, rules: RULES, header, intrinsicLatencyMicros: intrinsic, calibration, proxyAddedAfterMicros: addedAfter, results, ratios: rs, targets: checks }, null, 2)}\n`);
    process.stdout.write(`\nwritten: ${file}\n`);
    return !results.some((r) => r.runs.some((m) => !m.verification.ok));
  } finally {
    admin.disconnect();
    await proxy?.stop();
    await server.stop();
  }
}

async function main(): Promise<void> {
  if ([rerouteOnly, transferOnly, cliOnly, baselinesOnly, selectiveOnly].filter(Boolean).length > 1) throw new Error('--reroute-only, --transfer-only, --cli-only, --baselines-only and --selective-only exclude each other');
  const all = !rerouteOnly && !transferOnly && !cliOnly && !baselinesOnly && !selectiveOnly;
  let ok = true;
  if (all || rerouteOnly) ok = (await rerouteMain()) && ok;
  if (all || transferOnly) ok = (await runTransferBench({ quick, started, log })) && ok;
  if (all || cliOnly) ok = (await runCliBench({ quick, started, log })) && ok;
  if (all || baselinesOnly) ok = (await runBaselinesBench({ quick, pin, started, log })) && ok;
  if (all || selectiveOnly) ok = (await runSelectiveBench({ quick, started, log })) && ok;
  if (!ok) process.exitCode = 1;
}

await main();
