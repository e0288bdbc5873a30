import type { ChildProcess } from 'node:child_process';
import { expect } from 'vitest';

/**
 * Kills `child` with SIGKILL at a random instant (within ~15 ms) after it printed its
 * `afterLines`-th progress line (one per page or slice). Returns how many progress lines it
 * printed and whether the kill landed: false when the child finished its run and exited (code 0)
 * first, which a loaded machine can make happen (timers fire late): a run that finished before
 * the kill tests nothing, so callers count only the kills that landed (and check the others all
 * the same). A child that exits with an error, or dies of anything but the SIGKILL, fails the test.
 */
export async function killAfterProgress(child: ChildProcess, afterLines: number): Promise<{ lines: number; killed: boolean }> {
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let lines = 0;
  let armed = false;
  const finishedFirst = await new Promise<boolean>((resolve) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      lines += chunk.toString().split('\n').filter(Boolean).length;
      if (lines >= afterLines && !armed) {
        armed = true;
        // A random instant within the next page (not always between two).
        setTimeout(() => {
          resolve(!child.kill('SIGKILL'));
        }, Math.random() * 15);
      }
    });
    void exited.then(() => resolve(true));
  });
  const end = await exited;
  if (finishedFirst || end.signal === null) {
    expect(end, `the child ended on its own after ${lines} progress lines, before the kill: it must have finished its run`).toEqual({ code: 0, signal: null });
    return { lines, killed: false };
  }
  expect(end, 'the child died of the SIGKILL, mid-run').toEqual({ code: null, signal: 'SIGKILL' });
  return { lines, killed: true };
}
