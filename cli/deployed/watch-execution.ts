import type { CliIo } from '../cli-io.js';
import { ExitCode } from '../exit-codes.js';
import type { ExecutionProgress } from './execution-progress.js';
import type { ExecutionTracker } from './execution-tracker.js';
import { screenWidth } from '../workflow/fit.js';
import { planNotices } from '../workflow/plan-notices.js';
import { transientNotice } from '../workflow/retry-notice.js';
import { cronLeftOf, planRefusedInput, progressBlock, progressJson, progressLine, renderEnd } from './render-progress.js';

export interface WatchOptions {
  readonly io: CliIo;
  readonly json: boolean;
  /** Every set and queue the summary names, not only the largest. */
  readonly verbose?: boolean;
  readonly intervalMs: number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => Date;
  /** Show one update and return (status), instead of following the run to its end (watch). */
  readonly once?: boolean;
}

/**
 * Follows a run until every execution of it ended and prints its progress: on a terminal a
 * block of bars redrawn in place; in a pipe one plain line per update that changed something;
 * with --json one object per update and a final `{"type":"end"}` object with the summary.
 * Returns the last progress.
 */
export async function watchExecution(tracker: ExecutionTracker, options: WatchOptions): Promise<ExecutionProgress> {
  const { io } = options;
  const width = screenWidth(io.columns);
  let drawn = 0;
  let previous = '';
  let noticed = false;
  let attemptsSaid = 0;
  for (;;) {
    const progress = await tracker.poll();
    const now = options.now();
    // The plan's notices once, and each retried error once, above the view (which is drawn again
    // below them), as a local run shows them.
    let text = '';
    if (!noticed && progress.planNotes) {
      noticed = true;
      text += planNotices(progress.planNotes, { json: options.json, mode: progress.mode ?? 'reroute' });
    }
    for (const attempt of progress.failedAttempts.slice(attemptsSaid)) text += transientNotice(attempt);
    attemptsSaid = progress.failedAttempts.length;
    if (text) {
      if (io.interactive && drawn > 0 && !options.json) io.out(`\x1b[${drawn}F\x1b[J`);
      drawn = 0;
      io.err(text);
    }
    if (progress.finished || options.once) {
      if (options.json) io.out(`${progressJson(progress, progress.finished ? 'end' : 'progress')}\n`);
      else {
        if (io.interactive || options.once) draw(io, progressBlock(progress, now, width), drawn);
        if (progress.finished) io.out(`\n${renderEnd(progress, now, { width, verbose: options.verbose ?? false, wrap: io.interactive })}`);
      }
      return progress;
    }
    // What changed, leaving out what changes by itself (the clock).
    const fingerprint = JSON.stringify({ ...progress, startedAt: undefined });
    if (io.interactive && !options.json) drawn = draw(io, progressBlock(progress, now, width), drawn);
    else if (fingerprint !== previous) io.out(`${options.json ? progressJson(progress, 'progress') : progressLine(progress, now)}\n`);
    previous = fingerprint;
    await options.sleep(options.intervalMs);
  }
}

/** Redraws a block of lines in place (ANSI: up N lines, clear each line, and the lines a longer block left). */
function draw(io: CliIo, lines: readonly string[], drawn: number): number {
  const up = io.interactive && drawn > 0 ? `\x1b[${drawn}F` : '';
  const clear = io.interactive ? '\x1b[2K' : '';
  const stale = io.interactive && drawn > lines.length ? '\x1b[J' : '';
  io.out(`${up}${lines.map((l) => `${clear}${l}`).join('\n')}\n${stale}`);
  return lines.length;
}

/** 0 only when every execution of the run succeeded and everything that could be moved was; 2 when its plan refused the input (nothing touched). */
export function exitCodeOf(progress: ExecutionProgress): number {
  if (planRefusedInput(progress)) return ExitCode.badInput;
  // Definitions a carry or rewrite left unread: "Done, but …", exit 1, as a local run (cronLeftOf).
  return progress.status === 'SUCCEEDED' && progress.summary?.complete && cronLeftOf(progress) === undefined ? ExitCode.ok : ExitCode.failed;
}
