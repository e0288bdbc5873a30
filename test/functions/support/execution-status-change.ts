import { randomUUID } from 'node:crypto';

/** The deployment's state machine, as the execution-ended tests name it. */
export const STATE_MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:sidekiq-migrate';

export const executionArnOf = (name: string) => `arn:aws:states:us-east-1:123456789012:execution:sidekiq-migrate:${name}`;

/**
 * EventBridge's "Step Functions Execution Status Change" event, as the rule delivers it; `of` an
 * execution known by name (a redriven one keeps its ARN, start date and input, and counts its redrives).
 */
export function statusChange(status: string, input: unknown, stopDate = Date.now(), of?: { readonly name: string; readonly startDate: number; readonly redriveCount: number }): Record<string, unknown> {
  const name = of?.name ?? randomUUID();
  const executionArn = executionArnOf(name);
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: '123456789012',
    time: new Date(stopDate).toISOString(),
    region: 'us-east-1',
    resources: [executionArn],
    detail: {
      executionArn,
      stateMachineArn: STATE_MACHINE,
      name,
      status,
      startDate: of?.startDate ?? stopDate - 60_000,
      stopDate,
      redriveCount: of?.redriveCount ?? 0,
      redriveDate: of && of.redriveCount > 0 ? stopDate - 60_000 : null,
      redriveStatus: 'NOT_REDRIVABLE',
      input: input === undefined ? null : JSON.stringify(input),
      inputDetails: { included: input !== undefined },
      output: null,
      outputDetails: null,
    },
  };
}
