import { RssSampler } from './rss-sampler.js';
import type { PreparedRun, RunResult } from './protocol.js';

/**
 * Times a prepared run in this (forked) process and reads its own CPU and memory: progress to
 * stderr at most every 2 s, RSS sampled during the run, the kernel's peak RSS of the process.
 * Shared by the re-route and the transfer child processes.
 */
export async function measureRun(prepared: PreparedRun, label: string, totalJobs: number): Promise<RunResult> {
  let lastReport = performance.now();
  const onProgress = (jobs: number) => {
    const now = performance.now();
    if (now - lastReport < 2_000) return;
    lastReport = now;
    process.stderr.write(`  … ${label}: ${Math.min(jobs, totalJobs).toLocaleString('en')} / ${totalJobs.toLocaleString('en')} jobs\n`);
  };
  const rssBeforeRun = process.memoryUsage.rss();
  const cpuBefore = process.cpuUsage();
  const sampler = new RssSampler();
  const timing = await prepared.run(onProgress);
  const rssPeakSampled = sampler.stop();
  const cpu = process.cpuUsage(cpuBefore);
  return {
    ...timing,
    rssBeforeRun,
    rssPeakSampled,
    maxRss: process.resourceUsage().maxRSS * 1024,
    cpuUserSeconds: cpu.user / 1e6,
    cpuSystemSeconds: cpu.system / 1e6,
  };
}

/** Answers the orchestrator's one message with the measurement, then exits. */
export function answerOnce<Q>(measure: (request: Q) => Promise<RunResult>): void {
  process.once('message', (request: Q) => {
    measure(request).then(
      (result) => process.send!({ ok: true, result }, () => process.exit(0)),
      (error: unknown) => process.send!({ ok: false, error: String((error as Error)?.stack ?? error) }, () => process.exit(1)),
    );
  });
}
