import { totalJobs } from '../config.js';
import type { LatencyCalibration } from '../latency/calibrate.js';
import type { Measurement, ScenarioResult } from '../scenario.js';
import type { Ratios, TargetCheck } from './targets.js';
import { describePlain } from '../redis/slowlog.js';
import { throughputRows } from './throughput-rows.js';

const MB = 1024 * 1024;
const int = (n: number) => Math.round(n).toLocaleString('en');
const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string, n: number) => s.padStart(n);

/** The result table printed to stdout: one row per scenario (its median run), details, ratios, targets. */
export function formatReport(header: string[], calibration: LatencyCalibration | null, results: readonly ScenarioResult[], rs: readonly Ratios[], checks: readonly TargetCheck[]): string {
  const lines = [...header, ''];
  if (calibration) {
    lines.push(
      `latency: direct PING median ${calibration.direct.medianMicros.toFixed(0)} µs; through the proxy ${calibration.viaProxy.medianMicros.toFixed(0)} µs ` +
        `(p10 ${calibration.viaProxy.p10Micros.toFixed(0)}, p90 ${calibration.viaProxy.p90Micros.toFixed(0)}) ⇒ added RTT ${calibration.addedMicros.toFixed(0)} µs ` +
        `(target ${calibration.targetAddedMicros}; proxy one-way setting ${calibration.oneWayMicros.toFixed(0)} µs)`,
      '',
    );
  }
  lines.push(
    ...throughputRows(results, {
      labelWidth: 32,
      extra: { title: 'Lua max/p99 µs', width: 14, cell: (m: Measurement) => (m.lua ? `${m.lua.maxMicros} / ${m.lua.p99Micros}` : '–') },
    }),
  );
  lines.push('', ...details(results.flatMap((x) => x.runs.map((run) => ({ run, algorithm: x.scenario.algorithm, scale: x.scenario.scale })))));
  lines.push('', 'ratios (jobs/s over jobs/s, median runs)   sets   queues   combined');
  for (const r of rs) {
    const f = (x: { sets: number; queues: number; combined: number }, d: number) => `${lpad(x.sets.toFixed(d), 7)}  ${lpad(x.queues.toFixed(d), 7)}  ${lpad(x.combined.toFixed(d), 9)}`;
    lines.push(`  a/b ours ÷ GitLab  @ ${pad(r.latency, 19)} ${f(r.oursOverGitLab, 1)}`);
    lines.push(`  a/c ours ÷ floor   @ ${pad(r.latency, 19)} ${f(r.oursOverFloor, 2)}`);
    lines.push(`  c/b floor ÷ GitLab @ ${pad(r.latency, 19)} ${f(r.floorOverGitLab, 1)}   (≈ the most a/b can be)`);
  }
  lines.push(...fairRoundTrips(results));
  lines.push('', 'targets');
  for (const c of checks) lines.push(`  ${c.pass ? 'PASS' : 'MISS'}  ${pad(c.name, 66)} ${c.value}`);
  for (const m of results.flatMap((x) => x.runs).filter((x) => !x.verification.ok)) lines.push(`  ${m.label}: ${m.verification.problems.join('; ')}`);
  return lines.join('\n');
}

/** Per-run figures behind the table: Lua call times, the baseline's round trips, the proxy's punctuality. */
function details(runs: { run: Measurement; algorithm: string; scale: Parameters<typeof totalJobs>[0] }[]): string[] {
  const lines = ['details (every run)'];
  for (const { run: m, algorithm, scale } of runs) {
    const label = pad(m.label, 34);
    const seconds = m.result.setsSeconds + m.result.queuesSeconds;
    const cpu = `Node CPU ${(m.result.cpuUserSeconds + m.result.cpuSystemSeconds).toFixed(1)} s of ${seconds.toFixed(1)} s`;
    const parts = [`${int(m.jobsPerSecond.combined)} jobs/s`, cpu, `peak RSS ${(m.result.maxRss / MB).toFixed(0)} MB`];
    if (m.lua) {
      const l = m.lua;
      parts.push(`Lua: ${int(l.calls)} EVALSHA, mean ${l.meanMicros.toFixed(0)} µs, p99 ${l.p99Micros} µs, max ${l.maxMicros} µs, ${l.over2ms} over 2 ms`);
      parts.push(`plain commands: ${l.plainOver2ms}${l.plainOver2ms > 0 ? " (MISS)" : ""} over 2 ms (${describePlain(l)})`);
    }
    const d = m.result.details as { retry?: { roundTrips: number }; schedule?: { roundTrips: number }; queued?: { roundTrips: number } };
    if (algorithm === 'gitlab' && d.retry && d.schedule && d.queued) {
      const trips = d.retry.roundTrips + d.schedule.roundTrips + d.queued.roundTrips;
      parts.push(`${int(trips)} sequential round trips, ${(trips / totalJobs(scale)).toFixed(2)} per job, ${((seconds / trips) * 1e6).toFixed(0)} µs each`);
    }
    if (m.proxy) {
      const p = m.proxy.latenessMicros;
      parts.push(`proxy: ${int(m.proxy.chunks)} chunks, late p50 ${p.p50.toFixed(0)} / p99 ${p.p99.toFixed(0)} / max ${p.max.toFixed(0)} µs`);
    }
    lines.push(`  ${label} ${parts.join('; ')}`);
  }
  return lines;
}

/**
 * The delayed GitLab run pays its round trips at the proxy's rate, which on a VM includes waking
 * idle processes. A conservative cross-check: GitLab's jobs/s if each of its round trips cost
 * exactly its loopback time plus the nominal 500 µs, and a/b against that.
 */
function fairRoundTrips(results: readonly ScenarioResult[]): string[] {
  const at = (algorithm: string, latency: string) => results.find((r) => r.scenario.algorithm === algorithm && r.scenario.latency === latency && !r.scenario.big)?.median;
  const [loop, delayed, ours] = [at('gitlab', 'loopback'), at('gitlab', '0.5ms'), at('ours', '0.5ms')];
  const trips = (m: Measurement) => {
    const d = m.result.details as { retry: { roundTrips: number }; schedule: { roundTrips: number }; queued: { roundTrips: number } };
    return d.retry.roundTrips + d.schedule.roundTrips + d.queued.roundTrips;
  };
  if (!loop || !delayed || !ours) return [];
  const loopPerTrip = (loop.result.setsSeconds + loop.result.queuesSeconds) / trips(loop);
  const delayedJobs = delayed.jobsPerSecond.combined * (delayed.result.setsSeconds + delayed.result.queuesSeconds);
  const modelled = delayedJobs / (trips(delayed) * (loopPerTrip + 500e-6));
  return [
    `  cross-check: GitLab @ 0.5ms if each round trip cost its loopback time (${(loopPerTrip * 1e6).toFixed(0)} µs) + 500 µs: ${int(modelled)} jobs/s ⇒ a/b ${(ours.jobsPerSecond.combined / modelled).toFixed(1)}`,
  ];
}
