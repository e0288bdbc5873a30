import { RunStoppedError } from '../errors/run-stopped-error.js';
import { RunSupersededError } from '../errors/run-superseded-error.js';
import { RunLockLostError } from '../redis/run-lock.js';
import { FatalError } from '../errors/sidekiq-migrate-error.js';
import type { SliceClaim } from './claim-calls.js';

/**
 * The error of a slice whose claim was refused before it claimed anything (claim-calls.ts), or
 * whose write to the target was refused before it wrote anything (write-to-target.ts, 'lock-lost'
 * and 'superseded' only): as a run-lock renewal would have said it, since the claim (the source's
 * lock) and the write (the target's) are where a page task first sees a stop or a lost lock
 * between two renewals (core/workflow/steps/page-step.ts). `where`: "on source …", "on target …".
 */
export function claimRefusal(refused: NonNullable<SliceClaim<unknown>['refused']>, runId: string, where: string): Error {
  if (refused === 'stopped') return new RunStoppedError(runId, where);
  if (refused === 'superseded') return new RunSupersededError(runId, where);
  // The claim found the run's lock gone or another run's expired one (claimQueueJobs-14.lua -5): what a
  // page's renewal says then (holdLocks, RunLockLostError), before the slice moved anything.
  if (refused === 'lock-gone') {
    return new RunLockLostError(runId, where.replace(/^on /, ''), undefined, 'at a slice\'s claim the lock was gone or another run\'s past its expiry (the run ended or was stopped, or another run took it: this is a stale step)');
  }
  return new FatalError(`Run ${runId} lost its run lock ${where} (another run holds it); stopping (nothing is lost: the next run resumes).`);
}
