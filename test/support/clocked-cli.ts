import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliBin } from './cli-child.js';
import { repoPath } from './paths.js';
import { tempFileWriter } from './temp-files.js';

/** What round-trip-clock.mjs saw of a child's time, written as it exited. */
export interface RoundTripClockReport {
  /** How far the child's clock went from its start to its exit, in ms. */
  readonly elapsedMs: number;
  /** Its round trips to servers (one synchronous burst of writes each). */
  readonly roundTrips: number;
  /** The sleeps it took at once (ROUND_TRIP_CLOCK_SLEEPS_IN; after `markOnSignal` arrived, those it waited out), their ms in order. */
  readonly sleeps: readonly number[];
  /** The clock when the test marked it (markClock) or `markOnSignal` arrived (by 'signal'), or the child wrote `markAt` (by 'stderr'): ms from the start, round trips and sleeps so far. */
  readonly marks: readonly { readonly by: 'signal' | 'stderr'; readonly atMs: number; readonly roundTrips: number; readonly sleeps: number }[];
  /** The watched real timers (`watchTimers`) that fired: their ms, and how many marks came before. */
  readonly timersFired: readonly { readonly ms: number; readonly marks: number }[];
}

/**
 * The local state machine's waits (a failed step's retry backoff, aws-local-stepfunctions' sleep;
 * its chunk in dist/ keeps the file's name): taken at once, the clock moved by their length.
 */
export const STATE_MACHINE_SLEEPS = String.raw`at sleep \(\S*main\.node\.esm`;

export interface ClockedCli {
  readonly child: ChildProcess;
  /** Exit code (-1 for a signal), stdout and stderr, and the child's clock. */
  readonly ended: Promise<{ code: number; stdout: string; stderr: string; clock: RoundTripClockReport }>;
  /** Records the child's clock now (SIGUSR2), into the report's `marks`. */
  readonly markClock: () => void;
}

/**
 * The shipped CLI (bin/sidekiq-migrate.js, dist/) with `args`, its clock moved `msPerRoundTrip` a
 * round trip to a server (round-trip-clock.mjs), not by the machine's speed; `sleepsIn`,
 * `watchTimers`, `markAt` and `markOnSignal` as that file's ROUND_TRIP_CLOCK_SLEEPS_IN,
 * _WATCH_TIMERS, _MARK_AT and _MARK_ON_SIGNAL.
 * `onStderr` sees stderr as it grows.
 */
export function clockedCli(
  msPerRoundTrip: number,
  args: readonly string[],
  options: { readonly sleepsIn?: string; readonly watchTimers?: readonly number[]; readonly markAt?: string; readonly markOnSignal?: NodeJS.Signals; readonly onStderr?: (stderr: string, cli: ClockedCli) => void } = {},
): ClockedCli {
  const report = join(tempFileWriter('round-trip-clock-').dir, 'clock.json');
  const child = spawn(process.execPath, ['--import', repoPath('test/support/round-trip-clock.mjs'), cliBin, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      NO_COLOR: '1',
      ROUND_TRIP_CLOCK_MS: String(msPerRoundTrip),
      ROUND_TRIP_CLOCK_REPORT: report,
      ...(options.sleepsIn !== undefined ? { ROUND_TRIP_CLOCK_SLEEPS_IN: options.sleepsIn } : {}),
      ...(options.watchTimers !== undefined ? { ROUND_TRIP_CLOCK_WATCH_TIMERS: options.watchTimers.join(',') } : {}),
      ...(options.markAt !== undefined ? { ROUND_TRIP_CLOCK_MARK_AT: options.markAt } : {}),
      ...(options.markOnSignal !== undefined ? { ROUND_TRIP_CLOCK_MARK_ON_SIGNAL: options.markOnSignal } : {}),
    },
  });
  let [stdout, stderr] = ['', ''];
  const cli: ClockedCli = {
    child,
    markClock: () => void child.kill('SIGUSR2'),
    ended: new Promise((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr!.on('data', (chunk: Buffer) => options.onStderr?.((stderr += chunk.toString()), cli));
      child.once('error', reject);
      child.once('close', (code, signal) => {
        try {
          resolve({ code: code ?? (signal ? -1 : -2), stdout, stderr, clock: JSON.parse(readFileSync(report, 'utf8')) as RoundTripClockReport });
        } catch (error) {
          reject(new Error(`the child left no clock report (code ${code}, signal ${signal}): ${String(error)}\n${stderr}`));
        }
      });
    }),
  };
  return cli;
}
