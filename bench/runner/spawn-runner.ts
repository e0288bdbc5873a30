import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RunRequest, RunResult } from './protocol.js';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

/** Runs one measurement in a fresh Node process (tsx loader) and returns what it reports. */
export function spawnRunner(request: RunRequest): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = fork(CHILD, [], { execArgv: ['--import', import.meta.resolve('tsx')], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let settled = false;
    child.once('message', (message: { ok: boolean; result?: RunResult; error?: string }) => {
      settled = true;
      if (message.ok) resolve(message.result!);
      else reject(new Error(`${request.label} failed in its runner:\n${message.error}`));
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (!settled) reject(new Error(`${request.label}: runner exited (${code ?? signal}) without a result`));
    });
    child.send(request);
  });
}
