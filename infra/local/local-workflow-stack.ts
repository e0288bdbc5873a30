import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DEFAULT_WORKFLOW_FUNCTION_TIMEOUT } from '../constructs/migration-functions.js';
import { MigrationWorkflow } from '../constructs/migration-workflow.js';
import { LambdaTasks, type WorkflowFunctionName } from '../constructs/state-names.js';
import { LOCAL_STATE_MACHINE_NAME } from './local-state-machine-name.js';

/**
 * The workflow construct in a stack of its own, with stand-in functions: what
 * `npm run build:definition` synthesizes to get the exact state machine definition a deployment
 * would run, for the local runner. Its functions are never invoked; the runner maps each Task
 * state to the real handler in process.
 */
export function synthesizeLocalWorkflow(): { stack: Stack; workflow: MigrationWorkflow; functions: Record<WorkflowFunctionName, lambda.Function> } {
  const app = new App();
  const stack = new Stack(app, 'SidekiqMigrateLocal', { env: { account: '123456789012', region: 'us-east-1' } });
  const functions = {} as Record<WorkflowFunctionName, lambda.Function>;
  for (const name of new Set(Object.values(LambdaTasks))) {
    functions[name] = new lambda.Function(stack, `${name}Function`, {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      // As deployed: the local runner enforces each function's timeout from the template.
      timeout: DEFAULT_WORKFLOW_FUNCTION_TIMEOUT,
      code: lambda.Code.fromInline('exports.handler = async () => { throw new Error("stand-in: runs in process locally"); };'),
    });
  }
  const workflow = new MigrationWorkflow(stack, 'Workflow', { functions, stateMachineName: LOCAL_STATE_MACHINE_NAME });
  return { stack, workflow, functions };
}
