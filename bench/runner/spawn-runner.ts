import { fork, type Serializable } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RunRequest, RunResult } from './protocol.js';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

/** Runs one measurement in a fresh Node process (tsx loader) and returns what it reports. */
export function spawnRunner(request: RunRequest): Promise<RunResult> {
  return spawnChild(CHILD, request, request.label);
}

/**
 * Forks `entry` (a runner module that answers one request message with `{ ok, result | error }`)
 * with the tsx loader, sends it `request` and returns its result.
 */
export function spawnChild<Request extends Serializable, Result>(entry: string, request: Request, label: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = fork(entry, [], { execArgv: ['--import', import.meta.resolve('tsx')], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let settled = false;
    child.once('message', (message: { ok: boolean; result?: Result; error?: string }) => {
      settled = true;
      if (message.ok) resolve(message.result!);
      else reject(new Error(`${label} failed in its runner:\n${message.error}`));
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (!settled) reject(new Error(`${label}: runner exited (${code ?? signal}) without a result`));
    });
    child.send(request);
  });
}
