import { RetryableError } from './sidekiq-migrate-error.js';

/** How far a plan's resume of other runs' in-flight keys got before its time ran out. */
export interface ResumeProgress {
  /** In-flight keys it finished (written to the target and acknowledged on the source). */
  readonly finished: number;
  /** Jobs in them, as the resume counted them (resumed). */
  readonly jobs: number;
  /** In-flight keys of a shape a resume writes that it did not start, and their jobs when found. */
  readonly left: number;
  readonly leftJobs: number;
}

/**
 * The plan's resume of what interrupted transfers left in flight (resumeInflight, inside the plan
 * task) reached the time the plan gives it with in-flight keys still to finish: thousands of them
 * (runs interrupted across many queues), each a few round trips and replica waits, outlasted the
 * plan's function ("Task timed out", retried from scratch, saying nothing of why). It stops
 * between two keys — each key it finished is whole: written once, acknowledged — before it
 * lists anything new. Retryable: the plan's next try finds the keys it finished gone and goes on
 * with the rest (each try finishes at least one), so the state machine's retries carry the resume
 * across invocations; when they run out, the message says what is left and how to go on.
 */
export class PlanResumeTooLongError extends RetryableError {
  constructor(
    /** "source redis://…". */
    readonly where: string,
    readonly progress: ResumeProgress,
    readonly seconds: number,
  ) {
    const n = (value: number) => value.toLocaleString('en-US');
    super(
      `The plan's time ran out while it finished what interrupted transfers left in flight on the ${where}: in ${n(Math.round(seconds))} s (its share of the plan task's time) ` +
        `it finished ${n(progress.finished)} of the ${n(progress.finished + progress.left)} in-flight keys (${n(progress.jobs)} job(s), each written to the target once and acknowledged); ` +
        `the other ${n(progress.left)} (${n(progress.leftJobs)} job(s)) are still in flight on the source, untouched, and this run has not started on anything else. ` +
        `The plan is tried again and each try goes on from there; if its tries run out, start the run again with the same run id (it goes on from there), or raise the workflow functions' timeout (functions.timeoutSeconds in the deployment config, at most 900 s).`,
    );
  }
}
