/**
 * One transfer measurement in a process of its own (see runner/child.ts): forked with a
 * TransferRunRequest, it connects to the source and the target (directly or through their delay
 * proxies) as the CLI does, times the transfer, and sends back a RunResult.
 */
import { connectRedis } from '../../core/redis/connect-redis.js';
import { parseRedisUrl } from '../../core/redis/redis-url.js';
import { totalJobs } from '../config.js';
import { answerOnce, measureRun } from '../runner/measure-run.js';
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
    return await measureRun(prepared, request.label, totalJobs(request.scale));
  } finally {
    source.disconnect();
    target.disconnect();
  }
}

answerOnce(measure);
