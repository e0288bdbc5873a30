// A warm Lambda container for test/infra/shipped-bundles.test.ts, run by the Node 22 binary of
// this package: imports the bundle named by _HANDLER from LAMBDA_TASK_ROOT once (the cold start),
// then runs one invocation per IPC message, one at a time, as the nodejs22.x runtime does.
// Errors are answered as the runtime reports them: errorType (the error's name) and errorMessage.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [file, name] = process.env._HANDLER.split('.');
let handler;
let initError;
try {
  const module = await import(pathToFileURL(join(process.env.LAMBDA_TASK_ROOT, `${file}.mjs`)).href);
  handler = module[name];
  if (typeof handler !== 'function') throw Object.assign(new Error(`${file}.${name} is not a function`), { name: 'Runtime.HandlerNotFound' });
} catch (error) {
  initError = { errorType: error?.name === 'Runtime.HandlerNotFound' ? error.name : 'Runtime.ImportModuleError', errorMessage: String(error?.stack ?? error) };
}

let queue = Promise.resolve();
process.on('message', (message) => {
  queue = queue.then(() => invoke(message));
});
process.send({ type: 'ready', node: process.version, initError });

async function invoke({ id, event, deadline, requestId }) {
  if (initError) return process.send({ id, error: initError });
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: process.env.INVOKED_FUNCTION_ARN,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: requestId,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    const result = await handler(event, context);
    process.send({ id, result: result === undefined ? null : JSON.parse(JSON.stringify(result)) });
  } catch (error) {
    process.send({ id, error: { errorType: error?.name ?? 'Error', errorMessage: error?.message ?? String(error) } });
  }
}
