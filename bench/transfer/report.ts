import { totalJobs } from '../config.js';
import type { LatencyCalibration } from '../latency/calibrate.js';
import type { Latency } from '../scenario.js';
import { describePlain } from '../redis/slowlog.js';
import { throughputRows } from '../report/throughput-rows.js';
import type { TransferMeasurement, TransferScenarioResult } from './scenario.js';

type PerPhase = { readonly sets: number; readonly queues: number; readonly combined: number };

export interface TransferRatios {
  readonly latency: Latency;
  /** ours ÷ naive loop, per phase and combined (jobs/s over jobs/s, median runs). */
  readonly oursOverNaive: PerPhase;
  /** ours ÷ floor, and floor ÷ naive loop (roughly the most a/n can be for anything doing these moves), when the floor ran. */
  readonly oursOverFloor: PerPhase | null;
  readonly floorOverNaive: PerPhase | null;
}

export interface TransferTargetCheck {
  readonly name: string;
  readonly pass: boolean;
  readonly value: string;
}

const MB = 1024 * 1024;
const int = (n: number) => Math.round(n).toLocaleString('en');
const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string, n: number) => s.padStart(n);

const find = (rs: readonly TransferScenarioResult[], algorithm: string, latency: Latency, big = false) =>
  rs.find((r) => r.scenario.algorithm === algorithm && r.scenario.latency === latency && r.scenario.big === big);

export function transferRatios(results: readonly TransferScenarioResult[]): TransferRatios[] {
  return (['loopback', '0.5ms'] as const).flatMap((latency) => {
    const [a, n, c] = [find(results, 'ours', latency), find(results, 'naive', latency), find(results, 'floor', latency)].map((r) => r?.median.jobsPerSecond);
    if (!a || !n) return [];
    const ratio = (x: PerPhase, y: PerPhase) => ({ sets: x.sets / y.sets, queues: x.queues / y.queues, combined: x.combined / y.combined });
    return [{ latency, oursOverNaive: ratio(a, n), oursOverFloor: c ? ratio(a, c) : null, floorOverNaive: c ? ratio(c, n) : null }];
  });
}

/** The targets, PASS or MISS with the measured value. Ratios use the median runs; memory and correctness every run. */
export function checkTransferTargets(results: readonly TransferScenarioResult[], rs: readonly TransferRatios[]): TransferTargetCheck[] {
  const checks: TransferTargetCheck[] = [];
  for (const [latency, want] of [['loopback', 20], ['0.5ms', 100]] as const) {
    const r = rs.find((x) => x.latency === latency);
    if (r) checks.push({ name: `a/n ≥ ${want} at ${latency} (combined jobs/s)`, pass: r.oursOverNaive.combined >= want, value: r.oursOverNaive.combined.toFixed(1) });
  }
  const small = find(results, 'ours', 'loopback');
  const big = find(results, 'ours', 'loopback', true);
  if (small && big) {
    const [from, to] = [small, big].map((r) => Math.max(...r.runs.map((m) => m.result.maxRss)));
    const growth = to! / from! - 1;
    checks.push({
      name: `peak RSS flat: ${big.scenario.label} vs ${small.scenario.label} ≤ +25 %`,
      pass: growth <= 0.25,
      value: `${(from! / MB).toFixed(0)} → ${(to! / MB).toFixed(0)} MB (${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)} %)`,
    });
  }
  const failed = results.flatMap((r) => r.runs).filter((m) => !m.verification.ok);
  checks.push({
    name: 'correct after every run (each job once on the target, exact bytes + scores; source empty)',
    pass: failed.length === 0,
    value: failed.length === 0 ? 'all OK' : failed.map((m) => m.label).join(', '),
  });
  return checks;
}

/** The transfer part's printed report: one row per scenario (its median run), details, ratios, targets. */
export function formatTransferReport(
  header: string[],
  calibration: { source: LatencyCalibration; target: LatencyCalibration } | null,
  results: readonly TransferScenarioResult[],
  rs: readonly TransferRatios[],
  checks: readonly TransferTargetCheck[],
): string {
  const lines = [...header, ''];
  if (calibration) {
    for (const [name, c] of Object.entries(calibration)) {
      lines.push(
        `latency to the ${name}: direct PING median ${c.direct.medianMicros.toFixed(0)} µs; through its proxy ${c.viaProxy.medianMicros.toFixed(0)} µs ` +
          `(p10 ${c.viaProxy.p10Micros.toFixed(0)}, p90 ${c.viaProxy.p90Micros.toFixed(0)}) ⇒ added RTT ${c.addedMicros.toFixed(0)} µs (target ${c.targetAddedMicros}; one-way setting ${c.oneWayMicros.toFixed(0)} µs)`,
      );
    }
    lines.push('');
  }
  lines.push(...throughputRows(results, { labelWidth: 36 }));
  lines.push('', 'details (every run)');
  for (const { scenario, runs } of results) for (const m of runs) lines.push(...details(m, scenario.algorithm, totalJobs(scenario.scale)));
  lines.push('', 'ratios (jobs/s over jobs/s, median runs)   sets   queues   combined');
  const f = (x: PerPhase, d: number) => `${lpad(x.sets.toFixed(d), 7)}  ${lpad(x.queues.toFixed(d), 7)}  ${lpad(x.combined.toFixed(d), 9)}`;
  for (const r of rs) {
    lines.push(`  a/n ours ÷ naive loop @ ${pad(r.latency, 16)} ${f(r.oursOverNaive, 1)}`);
    if (r.oursOverFloor) lines.push(`  a/c ours ÷ floor      @ ${pad(r.latency, 16)} ${f(r.oursOverFloor, 2)}`);
    if (r.floorOverNaive) lines.push(`  c/n floor ÷ naive     @ ${pad(r.latency, 16)} ${f(r.floorOverNaive, 1)}   (≈ the most a/n can be with these writes, done one after the other)`);
  }
  lines.push(...crossCheck(results));
  lines.push('', 'targets');
  for (const c of checks) lines.push(`  ${c.pass ? 'PASS' : 'MISS'}  ${pad(c.name, 84)} ${c.value}`);
  for (const m of results.flatMap((x) => x.runs).filter((x) => !x.verification.ok)) lines.push(`  ${m.label}: ${m.verification.problems.join('; ')}`);
  return lines.join('\n');
}

function details(m: TransferMeasurement, algorithm: string, jobs: number): string[] {
  const seconds = m.result.setsSeconds + m.result.queuesSeconds;
  const parts = [
    `${int(m.jobsPerSecond.combined)} jobs/s`,
    `Node CPU ${(m.result.cpuUserSeconds + m.result.cpuSystemSeconds).toFixed(1)} s of ${seconds.toFixed(1)} s`,
    `peak RSS ${(m.result.maxRss / MB).toFixed(0)} MB (sampled during the run ${(m.result.rssPeakSampled / MB).toFixed(0)} MB)`,
  ];
  const d = m.result.details as { slices?: number; roundTrips?: number };
  if (algorithm === 'ours' && d.slices !== undefined) parts.push(`${int(d.slices)} slices`);
  if (algorithm !== 'ours' && d.roundTrips !== undefined) {
    const perJob = d.roundTrips / jobs;
    parts.push(`${int(d.roundTrips)} sequential round trips, ${perJob < 0.1 ? perJob.toFixed(4) : perJob.toFixed(2)} per job, ${((seconds / d.roundTrips) * 1e6).toFixed(0)} µs each`);
  }
  const lines = [`  ${pad(m.label, 36)} ${parts.join('; ')}`];
  const more: string[] = [];
  if (m.lua) {
    const l = (x: NonNullable<TransferMeasurement['lua']>['source']) =>
      `${int(x.calls)} EVALSHA, mean ${x.meanMicros.toFixed(0)} µs, p99 ${x.p99Micros} µs, max ${x.maxMicros} µs, ${x.over2ms} over 2 ms`;
    more.push(`Lua on the source: ${l(m.lua.source)}; on the target: ${l(m.lua.target)}`);
    const p = (x: NonNullable<TransferMeasurement['lua']>['source']) => `${x.plainOver2ms}${x.plainOver2ms > 0 ? ' (MISS)' : ''} over 2 ms (${describePlain(x)})`;
    more.push(`plain commands on the source: ${p(m.lua.source)}; on the target: ${p(m.lua.target)}`);
  }
  if (m.proxy) {
    const p = (x: NonNullable<TransferMeasurement['proxy']>['source']) => `${int(x.chunks)} chunks, late p50 ${x.latenessMicros.p50.toFixed(0)} / p99 ${x.latenessMicros.p99.toFixed(0)} / max ${x.latenessMicros.max.toFixed(0)} µs`;
    more.push(`proxies: source ${p(m.proxy.source)}; target ${p(m.proxy.target)}`);
  }
  const v = m.verification;
  more.push(
    `check: ${v.ok ? 'every job once on the target, exact bytes and scores' : 'FAILED'}; queue order ${v.orderKept ? 'kept' : 'NOT kept'}; ` +
      `source db 0 left: ${v.sourceLeft.length === 0 ? 'nothing' : v.sourceLeft.join(', ')}; ` +
      `target bookkeeping: ${describeBookkeeping(v.targetBookkeeping)}; staged in ${m.stageSeconds.toFixed(1)} s, verified in ${m.verifySeconds.toFixed(1)} s`,
  );
  return [...lines, ...more.map((x) => `  ${pad('', 36)} ${x}`)];
}

/**
 * A conservative cross-check of the delayed naive run (as for GitLab's): its jobs/s if each of
 * its round trips cost exactly its loopback time plus the nominal 500 µs, and a/n against that.
 */
function crossCheck(results: readonly TransferScenarioResult[]): string[] {
  const [loop, delayed, ours] = [find(results, 'naive', 'loopback'), find(results, 'naive', '0.5ms'), find(results, 'ours', '0.5ms')].map((r) => r?.median);
  if (!loop || !delayed || !ours) return [];
  const trips = (m: TransferMeasurement) => (m.result.details as { roundTrips: number }).roundTrips;
  const seconds = (m: TransferMeasurement) => m.result.setsSeconds + m.result.queuesSeconds;
  const loopPerTrip = seconds(loop) / trips(loop);
  const delayedJobs = delayed.jobsPerSecond.combined * seconds(delayed);
  const modelled = delayedJobs / (trips(delayed) * (loopPerTrip + 500e-6));
  return [
    `  cross-check: naive @ 0.5ms if each round trip cost its loopback time (${(loopPerTrip * 1e6).toFixed(0)} µs) + 500 µs: ${int(modelled)} jobs/s ⇒ a/n ${(ours.jobsPerSecond.combined / modelled).toFixed(1)}`,
  ];
}

/** What a run of ours left on the target: its ledgers (which expire) and the target's id (kept). */
function describeBookkeeping(keys: readonly string[]): string {
  if (keys.length === 0) return 'none';
  const ledgers = keys.filter((k) => k.includes(':ledger:')).length;
  const rest = keys.length - ledgers;
  return [ledgers > 0 ? `${ledgers} ledger key(s)` : '', rest > 0 ? `${rest} other (${keys.filter((k) => !k.includes(':ledger:')).slice(0, 3).join(', ')})` : ''].filter((p) => p !== '').join(', ');
}
