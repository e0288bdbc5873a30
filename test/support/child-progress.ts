import type { ChildProcess } from 'node:child_process';
import { waitUntil } from './wait-until.js';

/**
 * Waits until `condition` holds while `child` (a CLI run the test means to kill mid-way) still
 * runs: what it printed is kept (its stderr read, so that a full pipe never blocks it). Its first
 * moves come after its start and plan, which on a loaded 2-core machine took more than the 20 s
 * waitUntil gives by default (cli-dead-run-half-released, at load 20): the bound is the test's own
 * time, not a fraction of it. A child that exits first fails at once, with what it said.
 */
export async function untilChildProgress(child: ChildProcess, what: string, condition: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  await waitUntil(what, async () => exited() || (await condition()), { timeoutMs });
  if (exited()) throw new Error(`The CLI ended (code ${String(child.exitCode)}, signal ${String(child.signalCode)}) before ${what}:\n${stderr}`);
}
