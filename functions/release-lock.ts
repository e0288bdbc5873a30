import { releaseAfterFailureStep } from '../core/workflow/steps/stop-run-step.js';
import { connections } from './support/container.js';
import { createHandler } from './support/create-handler.js';
import { logger } from './support/powertools.js';
import { parseReleaseLockInput, scopeOfSettings } from './support/task-inputs.js';

/**
 * "Release the run lock after a failure": sets the run's stop marker and releases its lock
 * (releaseAfterFailureStep). Input: `{settings}`. Output: `{released}` (false when the lock was
 * not held by this run any more, or for a dry run, which takes none).
 */
export const handler = createHandler(
  {
    task: 'release-lock',
    scope: scopeOfSettings,
    parse: parseReleaseLockInput,
    run: async (input): Promise<{ released: boolean }> => {
      const result = await releaseAfterFailureStep(input, connections);
      logger.info(result.released ? 'run stopped, run lock released' : 'run stopped, no run lock of this run to release', result);
      return result;
    },
  },
  connections,
);
