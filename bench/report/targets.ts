import type { Latency, ScenarioResult } from '../scenario.js';

type PerPhase = { readonly sets: number; readonly queues: number; readonly combined: number };

export interface Ratios {
  readonly latency: Latency;
  /** ours ÷ GitLab, per phase and combined (jobs/s over jobs/s, median runs). */
  readonly oursOverGitLab: PerPhase;
  /** ours ÷ floor. */
  readonly oursOverFloor: PerPhase;
  /** floor ÷ GitLab: roughly the most a/b can be for anything that does the floor's writes. */
  readonly floorOverGitLab: PerPhase;
}

export interface TargetCheck {
  readonly name: string;
  readonly pass: boolean;
  readonly value: string;
}

const find = (rs: readonly ScenarioResult[], algorithm: string, latency: Latency, big = false) =>
  rs.find((r) => r.scenario.algorithm === algorithm && r.scenario.latency === latency && r.scenario.big === big);

export function ratios(results: readonly ScenarioResult[]): Ratios[] {
  return (['loopback', '0.5ms'] as const).flatMap((latency) => {
    const [a, b, c] = [find(results, 'ours', latency), find(results, 'gitlab', latency), find(results, 'floor', latency)].map((r) => r?.median.jobsPerSecond);
    if (!a || !b || !c) return [];
    const ratio = (x: PerPhase, y: PerPhase) => ({ sets: x.sets / y.sets, queues: x.queues / y.queues, combined: x.combined / y.combined });
    return [{ latency, oursOverGitLab: ratio(a, b), oursOverFloor: ratio(a, c), floorOverGitLab: ratio(c, b) }];
  });
}

const MB = 1024 * 1024;

/**
 * The targets, each PASS or MISS with the measured number. Throughput ratios use the
 * median runs; memory, Lua and correctness use the worst of all runs.
 */
export function checkTargets(results: readonly ScenarioResult[], rs: readonly Ratios[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const [latency, want] of [['loopback', 20], ['0.5ms', 100]] as const) {
    const r = rs.find((x) => x.latency === latency);
    if (r) checks.push({ name: `a/b ≥ ${want} at ${latency} (combined jobs/s)`, pass: r.oursOverGitLab.combined >= want, value: r.oursOverGitLab.combined.toFixed(1) });
  }
  for (const r of rs) {
    checks.push({ name: `a/c ≥ 0.5 at ${r.latency} (combined)`, pass: r.oursOverFloor.combined >= 0.5, value: r.oursOverFloor.combined.toFixed(2) });
  }
  const ours = results.filter((r) => r.scenario.algorithm === 'ours').flatMap((r) => r.runs);
  const peak = Math.max(...ours.map((m) => m.result.maxRss));
  checks.push({ name: 'peak RSS of ours < 250 MB (every run)', pass: peak < 250 * MB, value: `${(peak / MB).toFixed(0)} MB` });
  const small = find(results, 'ours', 'loopback');
  const big = find(results, 'ours', 'loopback', true);
  if (small && big) {
    const [from, to] = [small, big].map((r) => Math.max(...r.runs.map((m) => m.result.maxRss)));
    const growth = to! / from! - 1;
    checks.push({
      name: `RSS flat: ${big.scenario.label} vs ${small.scenario.label} ≤ +25 %`,
      pass: growth <= 0.25,
      value: `${(from! / MB).toFixed(0)} → ${(to! / MB).toFixed(0)} MB (${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)} %)`,
    });
  }
  const lua = ours.flatMap((m) => (m.lua ? [m.lua] : []));
  if (lua.length > 0) {
    const max = Math.max(...lua.map((l) => l.maxMicros));
    const over = lua.reduce((n, l) => n + l.over2ms, 0);
    const calls = lua.reduce((n, l) => n + l.calls, 0);
    checks.push({ name: 'no Lua call over 2 ms (every run of ours)', pass: max <= 2_000, value: `max ${max} µs; ${over} of ${calls} calls over 2 ms` });
    const p99 = Math.max(...lua.map((l) => l.p99Micros));
    checks.push({ name: 'Lua p99 under 1 ms (every run of ours)', pass: p99 < 1_000, value: `p99 ${p99} µs (worst run)` });
    // A plain command (ZSCAN, LRANGE…) holds every Sidekiq client as long as a script does.
    const plain = lua.flatMap((l) => l.plain);
    const longest = plain.reduce((a, b) => (b.maxMicros > a.maxMicros ? b : a), { name: '-', maxMicros: 0 });
    const plainOver = lua.reduce((n, l) => n + l.plainOver2ms, 0);
    checks.push({ name: 'no plain command over 2 ms (every run of ours)', pass: plainOver === 0, value: `${plainOver} over 2 ms; longest ${longest.name} ${longest.maxMicros} µs` });
  }
  const failed = results.flatMap((r) => r.runs).filter((m) => !m.verification.ok);
  checks.push({ name: 'correct after every run (counts; exact bytes for ours and floor)', pass: failed.length === 0, value: failed.length === 0 ? 'all OK' : failed.map((m) => m.label).join(', ') });
  return checks;
}
