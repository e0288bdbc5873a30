import type { ChildProcess } from 'node:child_process';
import { expect } from 'vitest';

/**
 * Kills `child` with SIGKILL at a random instant (within ~15 ms) after it printed its
 * `afterLines`-th progress line (one per page or slice), and asserts that the kill landed mid-run:
 * the child died of the signal, it had not exited first (a run that finished before the kill
 * would test nothing). Returns how many progress lines it printed.
 */
export async function killAfterProgress(child: ChildProcess, afterLines: number): Promise<number> {
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let lines = 0;
  let armed = false;
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      lines += chunk.toString().split('\n').filter(Boolean).length;
      if (lines >= afterLines && !armed) {
        armed = true;
        // A random instant within the next page (not always between two).
        setTimeout(() => {
          child.kill('SIGKILL');
          resolve();
        }, Math.random() * 15);
      }
    });
    void exited.then(({ code }) => reject(new Error(`the child exited (code ${code}) after ${lines} progress lines, before it could be killed`)));
  });
  expect(await exited, 'the child died of the SIGKILL, mid-run').toEqual({ code: null, signal: 'SIGKILL' });
  return lines;
}
