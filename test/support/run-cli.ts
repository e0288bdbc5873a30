import { main } from '../../cli/main.js';
import { realTime } from '../../cli/cli-context.js';
import { bufferIo } from './buffer-io.js';

/** The CLI run in this process as a user types `sidekiq-migrate ARGS…`: its exit code and what it printed. */
export async function runCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = bufferIo();
  const code = await main(['node', 'sidekiq-migrate', ...args], io);
  return { code, stdout: io.stdout(), stderr: io.stderr() };
}

/**
 * runCli, but the local run retries a failed step at once: the same attempts, none of the backoff
 * between them (about 2 min in all for a RetryableError), as the local workflow tests run the
 * state machine (retryIntervalMs 0). For a test that waits out a step's retries to see it fail.
 */
export async function runCliRetryingAtOnce(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = bufferIo();
  const code = await main(['node', 'sidekiq-migrate', ...args], io, undefined, { ...realTime, retryIntervalMs: 0 });
  return { code, stdout: io.stdout(), stderr: io.stderr() };
}
