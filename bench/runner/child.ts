/**
 * One measurement in a process of its own, so that its peak RSS and CPU time are its own: forked
 * by the orchestrator with a RunRequest, it connects (directly or through the delay proxy),
 * prepares, times the migration, and sends back a RunResult. Progress goes to stderr.
 */
import { connectRedis } from '../../core/redis/connect-redis.js';
import { parseRedisUrl } from '../../core/redis/redis-url.js';
import { prepareFloor } from '../algorithms/floor.js';
import { prepareGitLab } from '../algorithms/gitlab.js';
import { prepareOurs } from '../algorithms/ours.js';
import { totalJobs } from '../config.js';
import { benchRouting } from '../workload/routing.js';
import type { PreparedRun, RunRequest, RunResult } from './protocol.js';
import { RssSampler } from './rss-sampler.js';

async function measure(request: RunRequest): Promise<RunResult> {
  const routing = benchRouting();
  const redis = await connectRedis(parseRedisUrl(`redis://127.0.0.1:${request.port}`), { role: 'bench Redis' });
  try {
    const prepared: PreparedRun =
      request.algorithm === 'ours' ? prepareOurs(redis, routing, request) : request.algorithm === 'gitlab' ? prepareGitLab(redis, routing.plan) : prepareFloor(redis, routing, request);
    const total = totalJobs(request.scale);
    let lastReport = performance.now();
    const onProgress = (jobs: number) => {
      const now = performance.now();
      if (now - lastReport < 2_000) return;
      lastReport = now;
      process.stderr.write(`  … ${request.label}: ${Math.min(jobs, total).toLocaleString('en')} / ${total.toLocaleString('en')} jobs\n`);
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
  } finally {
    redis.disconnect();
  }
}

process.once('message', (request: RunRequest) => {
  measure(request).then(
    (result) => process.send!({ ok: true, result }, () => process.exit(0)),
    (error: unknown) => process.send!({ ok: false, error: String((error as Error)?.stack ?? error) }, () => process.exit(1)),
  );
});
