import { hostname, userInfo } from 'node:os';
import type { ExecutionProgress } from './execution-progress.js';
import type { ExecutionTracker } from './execution-tracker.js';
import type { StepFunctions } from './step-functions.js';

export interface StopResult {
  /** Executions this call stopped (the root and the executions its items continued in). */
  readonly stopped: string[];
  /** The run's state afterwards (finished unless `wait` was false or it would not end). */
  readonly progress: ExecutionProgress;
}

/**
 * Stops a run: the execution and every execution its items continued in, newest found first
 * included. Stopping ends the Distributed Map's child executions too. A Lambda in the middle of a
 * page finishes that page (each page is atomic) and stops at its next lock renewal; the
 * deployment's "execution ended" rule releases the run lock. Waits until every execution ended,
 * stopping continuations that appear meanwhile, unless `wait` is false.
 */
export async function stopRun(sfn: StepFunctions, tracker: ExecutionTracker, options: { wait: boolean; sleep: (ms: number) => Promise<void>; pollMs: number; maxPolls?: number }): Promise<StopResult> {
  const stopped: string[] = [];
  const cause = `Stopped with sidekiq-migrate stop by ${operator()}`;
  let progress = await tracker.poll();
  for (let polls = 0; ; polls++) {
    for (const execution of progress.executions) {
      if (execution.status !== 'RUNNING' || stopped.includes(execution.executionArn)) continue;
      await sfn.stop(execution.executionArn, cause);
      stopped.push(execution.executionArn);
    }
    if (!options.wait || progress.finished || polls >= (options.maxPolls ?? 60)) return { stopped, progress };
    await options.sleep(options.pollMs);
    progress = await tracker.poll();
  }
}

function operator(): string {
  let user = process.env['USER'] ?? 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (containers): keep $USER
  }
  return `${user}@${hostname()}`;
}
