import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { expect } from 'vitest';
import { repoPath } from './paths.js';

/** The shipped CLI (bin/sidekiq-migrate.js), run as a user's shell would. */
export const cliBin = repoPath('bin/sidekiq-migrate.js');

/** The shipped CLI, spawned without colours: its exit code and what it printed. */
export function spawnCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliBin, ...args], { env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

/**
 * Until the child's progress (stderr) says it moved a job: a line `N moved`, N > 0. A child that
 * exits before saying so fails the test at once, with what it printed, rather than leaving it to
 * time out.
 */
export async function movedSome(child: ChildProcess): Promise<void> {
  let text = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => /[1-9][\d,]* moved/.test((text += d.toString())) && resolve());
    child.once('exit', (code, signal) => reject(new Error(`the child exited (code ${code}, signal ${signal}) before it moved a job:\n${text}`)));
  });
}

/**
 * The shipped CLI with `args`, SIGKILLed once its progress says it moved a job; it must have died
 * of the signal (not finished first). Returns its pid.
 */
export async function killedAfterMoving(...args: string[]): Promise<number> {
  const child = spawn(process.execPath, [cliBin, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_, signal) => resolve(signal)));
  await movedSome(child);
  child.kill('SIGKILL');
  expect(await exited, 'the child died of the SIGKILL, mid-run').toBe('SIGKILL');
  return child.pid!;
}
