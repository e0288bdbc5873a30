/**
 * One transfer measurement in a process of its own (see runner/child.ts): forked with a
 * TransferRunRequest, it connects to the source and the target (directly or through their delay
 * proxies) as the CLI does, times the transfer, and sends back a RunResult.
 */
import { connectRedis } from '../../core/redis/connect-redis.js';
import { parseRedisUrl } from '../../core/redis/redis-url.js';
import { totalJobs } from '../config.js';
import { RssSampler } from '../runner/rss-sampler.js';
import { prepareFloorTransfer, prepareNaiveTransfer, prepareOursTransfer } from './algorithms.js';
import type { TransferRunRequest, TransferRunResult } from './protocol.js';

async function measure(request: TransferRunRequest): Promise<TransferRunResult> {
  const source = await connectRedis(parseRedisUrl(`redis://127.0.0.1:${request.sourcePort}`), { role: 'bench source' });
  const target = await connectRedis(parseRedisUrl(`redis://127.0.0.1:${request.targetPort}`), { role: 'bench target' }).catch((error: unknown) => {
    source.disconnect();
    throw error;
  });
  try {
    const prepare = { ours: prepareOursTransfer, naive: prepareNaiveTransfer, floor: prepareFloorTransfer }[request.algorithm];
    const prepared = prepare(source, target, request);
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
    source.disconnect();
    target.disconnect();
  }
}

process.once('message', (request: TransferRunRequest) => {
  measure(request).then(
    (result) => process.send!({ ok: true, result }, () => process.exit(0)),
    (error: unknown) => process.send!({ ok: false, error: String((error as Error)?.stack ?? error) }, () => process.exit(1)),
  );
});
