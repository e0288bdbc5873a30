import { InputError } from '../../core/errors/input-error.js';
import { awsError } from './aws-errors.js';
import { quietSdkNodeVersionWarning, sdkExports } from './sdk-environment.js';

/** The stack the CDK app deploys by default (infra/bin/app.ts). */
export const DEFAULT_STACK_NAME = 'SidekiqMigrate';

/** The stackName of cdk.json's configuration, the trial `npx cdk deploy` deploys as shipped (a test keeps them equal). */
export const TRIAL_STACK_NAME = 'SidekiqMigrateTrial';

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
    // Where it is looked for: a stack deployed in another region than the shell's is the usual
    // reason it "does not exist". No region at all is said by awsError.
    const where = await cloudFormation.config.region().then(
      (r) => ` in ${r}`,
      () => '',
    );
    try {
      out = await cloudFormation.send(new DescribeStacksCommand({ StackName: name }));
    } catch (error) {
      const e = awsError(error, `Reading the outputs of stack ${name}${where}`);
      if (e instanceof InputError && /does not exist/.test(e.message)) {
        // Without --stack, the name is the usual cause: cdk.json's trial and most configurations name their own stackName.
        const unnamed =
          stack === undefined
            ? ` No --stack was given, so the default ${DEFAULT_STACK_NAME} was looked for: give --stack with the stackName the deployment configuration names (cdk.json's trial: ${TRIAL_STACK_NAME}), or --state-machine ARN.`
            : '';
        throw new InputError(`${e.message}.${unnamed} Deployed in another region? Give --region (or set AWS_REGION).`, { cause: error });
      }
      throw e;
    }
    const value = out.Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === key)?.OutputValue;
    if (!value) throw new InputError(`Stack ${name} has no ${key} output: ${orElse}`);
    return value;
  } finally {
    cloudFormation.destroy();
  }
}
