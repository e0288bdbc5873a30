import type { DrainReport } from '../../core/drain/drain-report.js';
import { InputError } from '../../core/errors/input-error.js';
import { FatalError } from '../../core/errors/sidekiq-migrate-error.js';
import { awsError } from './aws-errors.js';
import { quietSdkNodeVersionWarning, sdkExports } from './sdk-environment.js';
import { stackOutput } from './stack-outputs.js';

/** The stack output naming the drain check function (infra/stacks/sidekiq-migrate-stack.ts). */
export const DRAIN_CHECK_OUTPUT = 'DrainCheckFunctionName';

export interface DeployedDrainCheck {
  /** `--function NAME`; otherwise the stack's DrainCheckFunctionName output. */
  readonly functionName?: string;
  readonly stack?: string;
  readonly region?: string;
  /** The deployment's connection to check (the function knows only the one it was deployed for). */
  readonly connection?: string;
  readonly retiredQueues?: readonly string[];
  /** A move out of the checked Redis: the function also looks at the deployment's target (functions/drain-check.ts). */
  readonly runId?: string;
}

/**
 * Runs the deployed drain check now, as its schedule does, and returns its report: the only way to
 * look at a Redis that lives in a VPC from an operator's laptop without a tunnel. The function
 * compares with, and remembers, the last check of the same scope (functions/drain-check.ts).
 */
export async function invokeDrainCheck(request: DeployedDrainCheck): Promise<DrainReport> {
  const functionName = request.functionName ?? (await stackOutput(request.stack, DRAIN_CHECK_OUTPUT, request.region, 'deploy this version of the stack, or give --function NAME.'));
  quietSdkNodeVersionWarning();
  // Loaded here: the commands that never call AWS start without the SDK.
  const { InvokeCommand, LambdaClient } = sdkExports(await import('@aws-sdk/client-lambda'));
  const lambda = new LambdaClient(request.region ? { region: request.region } : {});
  const payload = { ...(request.connection ? { connection: request.connection } : {}), ...(request.retiredQueues?.length ? { retiredQueues: [...request.retiredQueues] } : {}), ...(request.runId ? { runId: request.runId } : {}) };
  try {
    let out;
    try {
      out = await lambda.send(new InvokeCommand({ FunctionName: functionName, Payload: Buffer.from(JSON.stringify(payload)) }));
    } catch (error) {
      throw awsError(error, `Invoking the drain check ${functionName}`);
    }
    const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
    if (out.FunctionError) {
      // The handler's typed error: {errorType, errorMessage}. Bad input is the operator's to fix.
      const failure = parse(text) as { errorType?: string; errorMessage?: string } | undefined;
      const message = `The drain check ${functionName} failed: ${failure?.errorMessage ?? text}`;
      throw failure?.errorType === 'InvalidInputError' ? new InputError(message) : new FatalError(message);
    }
    const report = parse(text) as DrainReport | undefined;
    if (typeof report?.checkedAt !== 'number' || typeof report.remaining !== 'number') throw new FatalError(`The drain check ${functionName} returned something that is not a drain report.`);
    return report;
  } finally {
    lambda.destroy();
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
