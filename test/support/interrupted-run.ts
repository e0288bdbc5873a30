import { spawn } from 'node:child_process';
import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import { cliBin } from './cli-child.js';
import { sidekiqPayload } from './sidekiq-jobs.js';

/**
 * 200 jobs of class A and 10 of class B in queue `old` on `source`, LPUSHed one by one, the
 * `first` class's first (so the other's are fetched, and moved, first); `old` named in `queues`.
 * Returns their payloads.
 */
export async function seedOldQueueAAndB(source: Redis, first: 'A' | 'B'): Promise<{ a: string[]; b: string[] }> {
  const a = Array.from({ length: 200 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
  const b = Array.from({ length: 10 }, (_, i) => sidekiqPayload({ className: 'B', queue: 'old', args: `[${i}]` }));
  for (const p of first === 'A' ? [...a, ...b] : [...b, ...a]) await source.lpush('queue:old', p);
  await source.sadd('queues', 'old');
  return { a, b };
}

/** The run id of the run lock on `source` (a run that holds it, or was killed holding it). */
export async function lockedRunId(source: Redis): Promise<string> {
  return (JSON.parse((await source.get('sidekiq-migrate:lock'))!) as { runId: string }).runId;
}

/**
 * The shipped CLI with `args`, sent `signal` once its progress says it moved or wrote a job: its
 * run id (from the lock on `source` while it runs) and pid. Ctrl-C (SIGINT) stops a run after its
 * pages in progress: it must then have exited 1 ("Not complete") and released its lock.
 */
export async function signalledAfterMoving(source: Redis, signal: 'SIGINT' | 'SIGKILL', ...args: string[]): Promise<{ runId: string; pid: number }> {
  const child = spawn(process.execPath, [cliBin, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let text = '';
  await new Promise<void>((resolve) => child.stderr!.on('data', (d: Buffer) => /[1-9][\d,]* (moved|written)/.test((text += d.toString())) && resolve()));
  const runId = await lockedRunId(source);
  child.kill(signal);
  const code = await exited;
  if (signal === 'SIGINT') {
    expect(code).toBe(1);
    expect(await source.exists('sidekiq-migrate:lock')).toBe(0);
  }
  return { runId, pid: child.pid! };
}
