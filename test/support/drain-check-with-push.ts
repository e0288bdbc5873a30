import { spawn } from 'node:child_process';
import { cliBin } from './cli-child.js';
import { repoPath } from './paths.js';

/** Where and when a producer pushes one job while drain-check runs (push-at-command.mjs). */
export interface PushAtCommand {
  /** A regular expression (case-insensitive) naming the command the push comes before, e.g. '^exec$'. */
  command: string;
  /** Regular expressions, each matching one of that command's arguments (e.g. '^keyspace$'). */
  args?: string[];
  /** The queue SADDed to `queues` with the push. */
  queue: string;
  /** The list the payload is LPUSHed to. */
  key: string;
  payload: string;
  /** [key, field, value] HSET in the same MULTI as the push (e.g. a cron definition re-pointed then). */
  hset?: [string, string, string];
}

/**
 * drain-check from the sources against `url`, with `args`: before the first command matching
 * `push.command` (and `push.args`), another client SADDs `push.queue` to `queues` and LPUSHes
 * `push.payload` to `push.key`, and only then is the command sent: a producer's push at a precise
 * instant between two of the check's round trips. Its exit code and what it printed.
 */
export function drainCheckWithPush(url: string, push: PushAtCommand, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', repoPath('test/support/push-at-command.mjs'), cliBin, 'drain-check', '--redis', url, ...args], {
      env: {
        ...process.env,
        SIDEKIQ_MIGRATE_FROM_SOURCE: '1',
        NO_COLOR: '1',
        PUSH_AT_COMMAND: push.command,
        ...(push.args ? { PUSH_AT_ARGS: push.args.join(' ') } : {}),
        PUSH_URL: url,
        PUSH_QUEUES_KEY: 'queues',
        PUSH_QUEUE: push.queue,
        PUSH_KEY: push.key,
        PUSH_PAYLOAD: push.payload,
        ...(push.hset ? { PUSH_HSET: JSON.stringify(push.hset) } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
