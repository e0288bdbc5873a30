import { InputError } from '../../core/errors/input-error.js';
import { awsError } from './aws-errors.js';
import { quietSdkNodeVersionWarning, sdkExports } from './sdk-environment.js';

/** The stack the CDK app deploys by default (infra/bin/app.ts). */
export const DEFAULT_STACK_NAME = 'SidekiqMigrate';

/**
 * One output of the deployed stack (infra/stacks/sidekiq-migrate-stack.ts): how the CLI finds the
 * state machine and the drain check without the operator copying ARNs around.
 */
export async function stackOutput(stack: string | undefined, key: string, region: string | undefined, orElse: string): Promise<string> {
  const name = stack ?? DEFAULT_STACK_NAME;
  quietSdkNodeVersionWarning();
  // Loaded here: the commands that never call AWS start without the SDK.
  const { CloudFormationClient, DescribeStacksCommand } = sdkExports(await import('@aws-sdk/client-cloudformation'));
  const cloudFormation = new CloudFormationClient(region ? { region } : {});
  try {
    let out;
    try {
      out = await cloudFormation.send(new DescribeStacksCommand({ StackName: name }));
    } catch (error) {
      throw awsError(error, `Reading the outputs of stack ${name}`);
    }
    const value = out.Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === key)?.OutputValue;
    if (!value) throw new InputError(`Stack ${name} has no ${key} output: ${orElse}`);
    return value;
  } finally {
    cloudFormation.destroy();
  }
}
