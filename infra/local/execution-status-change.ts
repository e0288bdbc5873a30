/** Where a local execution's ARNs point: no real account or region. */
export const LOCAL_ARN_PREFIX = `arn:aws:states:us-east-1:123456789012`;

/** A local execution that ended without succeeding, as the execution-ended rule sees one. */
export interface EndedLocalExecution {
  readonly executionArn: string;
  /** FAILED, or TIMED_OUT past its state machine's TimeoutSeconds (never ABORTED: nothing stops a local execution). */
  readonly status: 'FAILED' | 'TIMED_OUT';
  readonly stateMachineArn: string;
  readonly input: unknown;
  readonly startDate: number;
  readonly stopDate: number;
  readonly error: { readonly name: string; readonly message: string };
}

/**
 * EventBridge's "Step Functions Execution Status Change" event for a local execution that failed
 * or timed out (a local execution is never stopped by StopExecution: Ctrl-C stops the run by its
 * stop marker), with the fields the execution-ended rule delivers and its function reads.
 */
export function executionStatusChange(ended: EndedLocalExecution): Record<string, unknown> {
  return {
    version: '0',
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: '123456789012',
    time: new Date(ended.stopDate).toISOString(),
    region: 'us-east-1',
    resources: [ended.executionArn],
    detail: {
      executionArn: ended.executionArn,
      stateMachineArn: ended.stateMachineArn,
      name: ended.executionArn.split(':').pop()!,
      status: ended.status,
      startDate: ended.startDate,
      stopDate: ended.stopDate,
      input: JSON.stringify(ended.input),
      inputDetails: { included: true },
      output: null,
      outputDetails: null,
      error: ended.error.name,
      cause: ended.error.message,
      redriveCount: 0,
    },
  };
}
