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
import { answerOnce, measureRun } from './measure-run.js';

async function measure(request: RunRequest): Promise<RunResult> {
  const routing = benchRouting();
  const redis = await connectRedis(parseRedisUrl(`redis://127.0.0.1:${request.port}`), { role: 'bench Redis' });
  try {
    const prepared: PreparedRun =
      request.algorithm === 'ours' ? prepareOurs(redis, routing, request) : request.algorithm === 'gitlab' ? prepareGitLab(redis, routing.plan) : prepareFloor(redis, routing, request);
    return await measureRun(prepared, request.label, totalJobs(request.scale));
  } finally {
    redis.disconnect();
  }
}

answerOnce(measure);
