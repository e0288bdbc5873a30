/**
 * Step Functions and Lambda quotas the local runner enforces where AWS does (aws-local-stepfunctions
 * enforces none of them). See infra/stacks/README.md for how the design stays inside each.
 */
export const AWS_QUOTAS = {
  /** UTF-8 bytes of a state's input or output, a task's result or parameters (256 KiB). */
  stateBytes: 262_144,
  /** Events in one execution's history; each Distributed Map child execution has its own. */
  historyEvents: 25_000,
  /** A synchronous Lambda invocation's request or response. */
  lambdaPayloadBytes: 6 * 1024 * 1024,
  /** A Lambda function's timeout when its configuration names none. */
  defaultFunctionTimeoutSeconds: 3,
} as const;

/** Error names an execution fails with when a quota is passed (as Step Functions and Lambda name them). */
export const QuotaErrors = {
  /** Not caught by a Catch on States.ALL: the execution fails. */
  dataLimitExceeded: 'States.DataLimitExceeded',
  /** The execution fails when its history would pass 25,000 events. */
  historyLimitExceeded: 'States.Runtime',
  /**
   * A Distributed Map whose child execution failed (it tolerates none here: the definition sets no
   * ToleratedFailure*). Unlike the child's own error, a Catch on States.ALL on the Map takes it.
   */
  mapRunFailed: 'States.ExceedToleratedFailureThreshold',
  /** What a Task sees of a function that ran past its timeout. */
  functionTimedOut: 'Sandbox.Timedout',
} as const;
