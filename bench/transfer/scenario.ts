import type { Redis } from 'ioredis';
import { fileURLToPath } from 'node:url';
import { jobsPerSecond, totalJobs, type Scale } from '../config.js';
import type { DelayProxy, ProxyStats } from '../latency/proxy-stats.js';
import { luaDurations, recordLuaCalls, recordSlowCommandsOnly, type LuaDurations } from '../redis/slowlog.js';
import type { RunResult } from '../runner/protocol.js';
import { spawnChild } from '../runner/spawn-runner.js';
import type { JobsPerSecond, Latency } from '../scenario.js';
import { TRANSFER_SETTINGS } from './config.js';
import { stageRun, type TransferExpectations } from './data.js';
import type { TransferAlgorithm, TransferRunRequest } from './protocol.js';
import { verifyTransfer, type TransferVerification } from './verify.js';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

export interface TransferScenario {
  readonly algorithm: TransferAlgorithm;
  readonly latency: Latency;
  readonly scale: Scale;
  readonly label: string;
  /** The large run of ours that shows memory staying flat. */
  readonly big: boolean;
  readonly repeats: number;
}

export interface TransferMeasurement {
  readonly label: string;
  readonly result: RunResult;
  readonly jobsPerSecond: JobsPerSecond;
  /** Ours only: the Lua calls' execution times on each server, from SLOWLOG. */
  readonly lua: { readonly source: LuaDurations; readonly target: LuaDurations } | null;
  readonly verification: TransferVerification;
  /** Delayed runs: how punctually each proxy forwarded during this run. */
  readonly proxy: { readonly source: ProxyStats; readonly target: ProxyStats } | null;
  readonly stageSeconds: number;
  readonly verifySeconds: number;
}

export interface TransferScenarioResult {
  readonly scenario: TransferScenario;
  readonly runs: readonly TransferMeasurement[];
  /** The median run by combined jobs/s. */
  readonly median: TransferMeasurement;
}

export interface TransferEnv {
  /** Database 0 of each server (the source's pristine copy lives in another database). */
  readonly source: Redis;
  readonly target: Redis;
  readonly ports: { readonly source: number; readonly target: number };
  readonly proxies: { readonly source: DelayProxy; readonly target: DelayProxy };
  readonly log: (line: string) => void;
}

/**
 * Runs a scenario `repeats` times on fresh copies of the pristine data (`expected` describes it).
 * `lastUse`: no later scenario needs this data, so its last run may consume the pristine copy.
 */
export async function runTransferScenario(env: TransferEnv, scenario: TransferScenario, expected: TransferExpectations, lastUse: boolean): Promise<TransferScenarioResult> {
  const runs: TransferMeasurement[] = [];
  for (let i = 0; i < scenario.repeats; i++) {
    const label = scenario.repeats > 1 ? `${scenario.label} #${i + 1}` : scenario.label;
    runs.push(await measureOnce(env, scenario, expected, label, lastUse && i === scenario.repeats - 1, i));
  }
  const sorted = [...runs].sort((a, b) => a.jobsPerSecond.combined - b.jobsPerSecond.combined);
  return { scenario, runs, median: sorted[Math.floor((sorted.length - 1) / 2)]! };
}

let runCounter = 0;

async function measureOnce(env: TransferEnv, scenario: TransferScenario, expected: TransferExpectations, label: string, last: boolean, repeat: number): Promise<TransferMeasurement> {
  const { source, target, log } = env;
  const stageStart = performance.now();
  await stageRun(source, target, expected, last);
  const stageSeconds = (performance.now() - stageStart) / 1000;
  const ours = scenario.algorithm === 'ours';
  for (const redis of [source, target]) await (ours ? recordLuaCalls(redis) : recordSlowCommandsOnly(redis));
  const delayed = scenario.latency !== 'loopback';
  if (delayed) await Promise.all([env.proxies.source.stats(), env.proxies.target.stats()]); // resets their lateness records
  const runId = `bench-${process.pid}-${++runCounter}-${repeat}`;
  log(`${label}: transferring ${totalJobs(scenario.scale).toLocaleString('en')} jobs (staged in ${stageSeconds.toFixed(1)} s)`);
  const request: TransferRunRequest = {
    algorithm: scenario.algorithm,
    sourcePort: delayed ? env.proxies.source.port : env.ports.source,
    targetPort: delayed ? env.proxies.target.port : env.ports.target,
    scale: scenario.scale,
    sets: (['schedule', 'retry'] as const).filter((s) => scenario.scale[s] > 0),
    sliceSize: TRANSFER_SETTINGS.sliceSize,
    naivePage: TRANSFER_SETTINGS.naivePage,
    floorPage: TRANSFER_SETTINGS.floorPage,
    runId,
    label,
  };
  const result = await spawnChild<TransferRunRequest, RunResult>(CHILD, request, label);
  const proxy = delayed ? { source: await env.proxies.source.stats(), target: await env.proxies.target.stats() } : null;
  const lua = ours ? { source: await luaDurations(source), target: await luaDurations(target) } : null;
  log(`${label}: ${(result.setsSeconds + result.queuesSeconds).toFixed(2)} s; verifying`);
  const verifyStart = performance.now();
  const verification = await verifyTransfer(source, target, expected, { sets: result.movedSets, queued: result.movedQueued }, ours ? `sidekiq-migrate:${runId}:ledger:` : null);
  const verifySeconds = (performance.now() - verifyStart) / 1000;
  if (!verification.ok) log(`${label}: VERIFICATION FAILED: ${verification.problems.join('; ')}`);
  return {
    label,
    result,
    jobsPerSecond: jobsPerSecond(scenario.scale, result),
    lua,
    verification,
    proxy,
    stageSeconds,
    verifySeconds,
  };
}
