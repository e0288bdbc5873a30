import type { Redis } from 'ioredis';
import type { ClassRoutingPlan } from '../../core/routing/routing-plan.js';
import type { PreparedRun } from '../runner/protocol.js';
import { discardLog } from './gitlab-log.js';
import { gitlabMigrateQueues } from './gitlab-queues.js';
import { gitlabMigrateSet } from './gitlab-sets.js';

/**
 * (b) The baseline: GitLab's three rake tasks in the documented order (retry, schedule, queued),
 * re-implemented faithfully in TypeScript with the same class → queue mapping as ours.
 */
export function prepareGitLab(redis: Redis, plan: ClassRoutingPlan): PreparedRun {
  return {
    async run(onProgress) {
      let jobs = 0;
      const onJob = () => {
        if (++jobs % 500 === 0) onProgress(jobs);
      };
      const start = performance.now();
      const retry = await gitlabMigrateSet(redis, 'retry', plan.mapping, discardLog, onJob);
      const schedule = await gitlabMigrateSet(redis, 'schedule', plan.mapping, discardLog, onJob);
      const setsEnd = performance.now();
      const queued = await gitlabMigrateQueues(redis, plan.mapping, discardLog, onJob);
      const end = performance.now();
      return {
        setsSeconds: (setsEnd - start) / 1000,
        queuesSeconds: (end - setsEnd) / 1000,
        movedSets: retry.migrated + schedule.migrated,
        movedQueued: queued.migrated,
        details: { retry, schedule, queued },
      };
    },
  };
}
