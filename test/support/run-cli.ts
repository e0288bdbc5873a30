import { main } from '../../cli/main.js';
import { bufferIo } from './buffer-io.js';

/** The CLI run in this process as a user types `sidekiq-migrate ARGS…`: its exit code and what it printed. */
export async function runCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = bufferIo();
  const code = await main(['node', 'sidekiq-migrate', ...args], io);
  return { code, stdout: io.stdout(), stderr: io.stderr() };
}
