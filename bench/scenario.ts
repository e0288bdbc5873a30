import type { Redis } from 'ioredis';
import { jobsPerSecond, SETTINGS, totalJobs, type Scale } from './config.js';
import type { DelayProxy, ProxyStats } from './latency/proxy-stats.js';
import { seedWorkload, type Expectations } from './redis/seed.js';
import { luaDurations, recordLuaCalls, recordSlowCommandsOnly, type LuaDurations } from './redis/slowlog.js';
import { verifyRun, type Verification } from './redis/verify.js';
import type { AlgorithmName, RunResult } from './runner/protocol.js';
import { spawnRunner } from './runner/spawn-runner.js';
import type { BenchRouting } from './workload/routing.js';

export type Latency = 'loopback' | '0.5ms';

export interface Scenario {
  readonly algorithm: AlgorithmName;
  readonly latency: Latency;
  readonly scale: Scale;
  /** A name for the row: e.g. "ours @ loopback". */
  readonly label: string;
  /** The large run that shows memory staying flat. */
  readonly big: boolean;
  readonly repeats: number;
}

/** Every run of a scenario and the one the table shows: the median by combined jobs/s. */
export interface ScenarioResult {
  readonly scenario: Scenario;
  readonly runs: readonly Measurement[];
  readonly median: Measurement;
}

export interface JobsPerSecond {
  readonly sets: number;
  readonly queues: number;
  readonly combined: number;
}

export interface Measurement {
  /** The scenario's label, with the repeat number when it has several runs. */
  readonly label: string;
  readonly expected: Expectations;
  readonly result: RunResult;
  readonly jobsPerSecond: JobsPerSecond;
  /** Ours only: every Lua call's execution time, from SLOWLOG. */
  readonly lua: LuaDurations | null;
  readonly verification: Verification;
  /** Delayed runs: how punctually the proxy forwarded during this run. */
  readonly proxy: ProxyStats | null;
  readonly seedSeconds: number;
}

export interface ScenarioEnv {
  readonly admin: Redis;
  readonly redisPort: number;
  readonly proxy: DelayProxy;
  readonly routing: BenchRouting;
  readonly log: (line: string) => void;
}

/** Runs a scenario `repeats` times, each on fresh data. */
export async function runScenario(env: ScenarioEnv, scenario: Scenario): Promise<ScenarioResult> {
  const runs: Measurement[] = [];
  for (let i = 0; i < scenario.repeats; i++) {
    const label = scenario.repeats > 1 ? `${scenario.label} #${i + 1}` : scenario.label;
    runs.push(await measureOnce(env, scenario, label));
  }
  const sorted = [...runs].sort((a, b) => a.jobsPerSecond.combined - b.jobsPerSecond.combined);
  return { scenario, runs, median: sorted[Math.floor((sorted.length - 1) / 2)]! };
}

/**
 * One measurement on a fresh copy of the data: re-seed (same seed, so the same bytes), set up the
 * slow log, run the algorithm in its own process, then read Lua timings and check the result.
 */
async function measureOnce(env: ScenarioEnv, scenario: Scenario, label: string): Promise<Measurement> {
  const { admin, routing, log } = env;
  const n = totalJobs(scenario.scale).toLocaleString('en');
  log(`${label}: seeding ${n} jobs`);
  const seedStart = performance.now();
  const expected = await seedWorkload(admin, routing, scenario.scale);
  const seedSeconds = (performance.now() - seedStart) / 1000;
  const ours = scenario.algorithm === 'ours';
  // Only our run logs its Lua calls (see LUA_LOG_THRESHOLD_MICROS); the others run at the default
  // threshold so that logging costs them nothing.
  await (ours ? recordLuaCalls(admin) : recordSlowCommandsOnly(admin));
  const delayed = scenario.latency !== 'loopback';
  if (delayed) await env.proxy.stats(); // resets the proxy's lateness record
  log(`${label}: migrating (seeded in ${seedSeconds.toFixed(1)} s)`);
  const result = await spawnRunner({
    algorithm: scenario.algorithm,
    port: delayed ? env.proxy.port : env.redisPort,
    scale: scenario.scale,
    pageSize: SETTINGS.pageSize,
    luaBatch: SETTINGS.luaBatch,
    floorPipelineJobs: SETTINGS.floorPipelineJobs,
    label,
  });
  const proxy = delayed ? await env.proxy.stats() : null;
  const lua = ours ? await luaDurations(admin) : null;
  log(`${label}: ${(result.setsSeconds + result.queuesSeconds).toFixed(2)} s; verifying`);
  // GitLab's baseline re-serialises payloads (JSON.stringify changes 1.0, big integers…), so only
  // its counts can be checked; ours and the floor must leave the exact expected bytes.
  const verification = await verifyRun(admin, routing, scenario.scale, expected, { sets: result.movedSets, queued: result.movedQueued }, scenario.algorithm !== 'gitlab');
  if (!verification.ok) log(`${label}: VERIFICATION FAILED: ${verification.problems.join('; ')}`);
  return {
    label,
    expected,
    result,
    jobsPerSecond: jobsPerSecond(scenario.scale, result),
    lua,
    verification,
    proxy,
    seedSeconds,
  };
}
