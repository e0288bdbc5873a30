import type { StepFunctions } from './step-functions.js';

/** The most executions `start --resume` gives one run (the first is named after the run id). */
export const MAX_RUN_EXECUTIONS = 50;

/** The name of the `n`th execution of a resumed run: `RUN-resume-2`. */
export function resumedExecutionName(runId: string, n: number): string {
  return `${runId}-resume-${n}`;
}

/**
 * The newest execution `start` gave a run: the one named after the run id, or the last
 * RUN-resume-N after it. `start --resume` takes the first free N from 2, so they are probed in
 * order until one does not exist. Without this, `stop RUN` after a resume found the first
 * execution ended and said "Nothing to stop" while the resumed one went on moving jobs.
 */
export async function newestExecutionOfRun(sfn: StepFunctions, firstArn: string): Promise<string> {
  let newest = firstArn;
  for (let n = 2; n <= MAX_RUN_EXECUTIONS; n++) {
    const arn = resumedExecutionName(firstArn, n);
    if (arn.length - arn.lastIndexOf(':') - 1 > 80) break;
    try {
      await sfn.describe(arn);
    } catch (error) {
      if ((error as { cause?: { name?: string } }).cause?.name === 'ExecutionDoesNotExist') break;
      // The operator named the run, not RUN-resume-N: say what we were looking for.
      if (error instanceof Error) error.message = `Finding the newest execution of run ${firstArn.split(':').at(-1)} (it or a RUN-resume-N): ${error.message}`;
      throw error;
    }
    newest = arn;
  }
  return newest;
}
