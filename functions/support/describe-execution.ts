import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';

/**
 * How long the execution-ended function waits for Step Functions' API (ms): the function runs in
 * the deployment's VPC, which may have no route to it (no NAT, no interface endpoint). Then it
 * gives up soon and finds the run by its lock instead (execution-ended-cleanup.ts), well within
 * the function's minute.
 */
export const DESCRIBE_CONNECT_TIMEOUT_MS = 2_000;
export const DESCRIBE_REQUEST_TIMEOUT_MS = 5_000;

let client: SFNClient | undefined;

/**
 * The input of an execution, from DescribeExecution: what an execution-ended event leaves out when
 * the input is over EventBridge's size limit (Step Functions takes up to 256 KiB, which
 * DescribeExecution returns whole). The region is the execution's own (its ARN's).
 */
export async function describeExecutionInput(executionArn: string): Promise<string> {
  client ??= new SFNClient({
    ...(regionOf(executionArn) ? { region: regionOf(executionArn) } : {}),
    maxAttempts: 2,
    requestHandler: { connectionTimeout: DESCRIBE_CONNECT_TIMEOUT_MS, requestTimeout: DESCRIBE_REQUEST_TIMEOUT_MS },
  });
  const out = await client.send(new DescribeExecutionCommand({ executionArn }));
  if (typeof out.input !== 'string') throw new Error(`DescribeExecution of ${executionArn} returned no input`);
  return out.input;
}

function regionOf(arn: string): string | undefined {
  const region = arn.split(':')[3];
  return region ? region : undefined;
}
