import { describe, expect, it } from 'vitest';
import type { ExecutionProgress } from '../../../cli/deployed/execution-progress.js';
import type { ExecutionTracker } from '../../../cli/deployed/execution-tracker.js';
import { progressBlock, renderEnd } from '../../../cli/deployed/render-progress.js';
import { watchExecution } from '../../../cli/deployed/watch-execution.js';
import { emptyCounters } from '../../../core/reroute/reroute-counters.js';
import type { RunSummary } from '../../../core/workflow/steps/summarize-step.js';
import { bufferIo } from '../../support/buffer-io.js';
import { TerminalScreen } from '../../support/terminal-screen.js';
import { progressView, type ViewItem } from '../../../cli/workflow/progress-view.js';

// GitLab keeps one queue per worker: ~500 queues, names up to 100 characters (issue 15).
const longName = (i: number) => `cronjob:${'very_long_worker_name_'.repeat(4)}${String(i).padStart(3, '0')}`;
const items = (done: number, running: number): ViewItem[] => [
  ...Array.from({ length: done }, (_, i): ViewItem => ({ kind: 'queue', name: longName(i), total: 100, seen: 100, moved: 100, done: true })),
  ...Array.from({ length: running }, (_, i): ViewItem => ({ kind: 'queue', name: longName(done + i), total: 100, seen: i * 10, moved: i * 10, done: false })),
];

describe('the progress view', () => {
  it('at 500 queues: the overall line, 5 items in progress, the rest counted; 80 columns', () => {
    const lines = progressView({ items: items(240, 10), plannedItems: 500, plannedJobs: 50_000, elapsedMs: 60_000 }, 80);

    expect(lines).toHaveLength(8);
    expect(lines[0]).toBe('Jobs 24,450 of 50,000 (48%) · 24,450 moved · 408/s · 1m02s left');
    expect(lines.slice(1, 6).every((l) => /^ {2}queue:cronjob:very_long.*….* \[[#-]{12}\] \d+\/100$/.test(l))).toBe(true);
    expect(lines[6]).toBe('  … and 5 more in progress');
    expect(lines[7]).toBe('Items: 240 done · 10 in progress · 250 waiting · 0 failed');
    expect(Math.max(...lines.map((l) => [...l].length))).toBeLessThanOrEqual(80);
  });

  it('counts failed items the tally counts but does not name once, not as in progress', () => {
    const lines = progressView({ items: items(3, 2), plannedItems: 5, elapsedMs: 1000, failed: 1 }, 80);

    expect(lines.at(-1)).toBe('Items: 3 done · 1 in progress · 0 waiting · 1 failed');
    expect(lines[0]).toBe('Jobs 310 seen · 310 moved · 310/s');
  });

  it('a selective move: examining the planned jobs, moved of the selected ones when the plan counted them, else "selected moved"', () => {
    const state = { items: items(240, 10), plannedItems: 500, plannedJobs: 50_000, elapsedMs: 60_000 };

    expect(progressView({ ...state, selection: { jobs: 30_000 } }, 80)[0]).toBe('Examining 24,450/50,000 · 24,450/30,000 selected moved · 408/s · 1m02s left');
    expect(progressView({ ...state, selection: {} }, 80)[0]).toBe('Examining 24,450/50,000 · 24,450 selected moved · 408/s · 1m02s left');
    expect(progressView({ ...state, plannedJobs: undefined, selection: {} }, 80)[0]).toBe('Examining: 24,450 seen · 24,450 selected moved · 408/s');
  });

  it('a dry run: what a run would move, never "moved"', () => {
    const state = { items: items(240, 10), plannedItems: 500, plannedJobs: 50_000, elapsedMs: 60_000, dryRun: true };

    expect(progressView(state, 80)[0]).toBe('Jobs 24,450 of 50,000 (48%) · 24,450 would move · 408/s · 1m02s left');
    expect(progressView({ ...state, selection: { jobs: 30_000 } }, 80)[0]).toBe('Examining 24,450/50,000 · 24,450/30,000 selected would move · 408/s · 1m02s left');
  });

  it('watch: the execution header on top, everything within a narrower terminal', () => {
    const progress: ExecutionProgress = {
      executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:sidekiq-migrate:reroute-1',
      runId: 'reroute-1',
      mode: 'reroute',
      status: 'RUNNING',
      state: 'Migrate each set and queue',
      startedAt: new Date('2026-11-23T10:00:00Z'),
      items: items(400, 100).map(({ failed: _failed, ...i }) => ({ ...i, rate: 10 })),
      planned: { items: 500, jobs: 50_000 },
      retries: 3,
      failedAttempts: [],
      executions: [{ executionArn: 'x', status: 'RUNNING' }],
      errors: [],
      finished: false,
    };

    const lines = progressBlock(progress, new Date('2026-11-23T10:10:00Z'), 60);

    expect(lines.length).toBeLessThanOrEqual(10);
    expect(lines[0]).toMatch(/^Run reroute-1 \(re-route\) — RUNNING — 10m00s — 3 retries — /);
    expect(lines.at(-1)).toBe('Items: 400 done · 100 in progress · 0 waiting · 0 failed');
    expect(Math.max(...lines.map((l) => [...l].length))).toBeLessThanOrEqual(60);
  });
});

describe('watch on a terminal at 500 queues', () => {
  it('redraws in place within 80 columns and 10 lines until the end, then the summary fits 80 columns', async () => {
    const start = new Date('2026-11-23T10:00:00Z');
    const queues = Array.from({ length: 500 }, (_, i) => longName(i));
    const snapshot = (done: number, finished: boolean): ExecutionProgress => ({
      executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:sidekiq-migrate:reroute-1',
      runId: 'reroute-1',
      mode: 'reroute',
      status: finished ? 'SUCCEEDED' : 'RUNNING',
      ...(finished ? {} : { state: 'Migrate each set and queue' }),
      startedAt: start,
      ...(finished ? { stoppedAt: new Date(start.getTime() + 600_000) } : {}),
      items: queues.slice(0, Math.min(500, done + 10)).map((name, i) => ({ kind: 'queue' as const, name, total: 100, seen: i < done ? 100 : 50, moved: i < done ? 100 : 50, done: i < done })),
      planned: { items: 500, jobs: 50_000 },
      retries: 0,
      failedAttempts: [],
      executions: [{ executionArn: 'x', status: finished ? 'SUCCEEDED' : 'RUNNING' }],
      errors: [],
      finished,
      ...(finished ? { summary: summaryOf(queues) } : {}),
    });
    let polls = 0;
    const tracker = { poll: async () => (polls++ < 50 ? snapshot(polls * 10, false) : snapshot(500, true)) } as unknown as ExecutionTracker;
    const io = { ...bufferIo(true), columns: 80 };
    const screen = new TerminalScreen();

    await watchExecution(tracker, { io, json: false, intervalMs: 0, sleep: async () => void screen.write(io.stdout().slice(screen.fed)), now: () => new Date(start.getTime() + polls * 10_000) });
    const progressHeld = screen.mostLinesHeld;
    screen.write(io.stdout().slice(screen.fed));

    expect(progressHeld).toBeLessThanOrEqual(10);
    expect(screen.widest).toBeLessThanOrEqual(80);
    expect(screen.text().filter(Boolean).length).toBeLessThanOrEqual(40);
    expect(io.stdout()).toContain('… and 490 more (--verbose)');
  });
});

describe('watch at the end of a resumed run', () => {
  const ended = (name: string): ExecutionProgress =>
    ({
      executionArn: `arn:aws:states:eu-west-1:123456789012:execution:sidekiq-migrate:${name}`,
      runId: 'reroute-1',
      mode: 'reroute',
      status: 'SUCCEEDED',
      startedAt: new Date('2026-11-23T10:00:00Z'),
      stoppedAt: new Date('2026-11-23T10:10:00Z'),
      items: [],
      retries: 0,
      failedAttempts: [],
      executions: [{ executionArn: 'x', status: 'SUCCEEDED' }],
      errors: [],
      finished: true,
      summary: summaryOf(['q']),
    }) as ExecutionProgress;
  const line = "Resumed: the counts below are this command's only. What the run moved before it was resumed is where it put it and is not counted here; drain-check shows what is left.";

  it('says that the counts of an execution start --resume started (RUN-resume-N) are its own only', () => {
    const words = renderEnd(ended('reroute-1-resume-2'), new Date('2026-11-23T10:10:00Z'), { width: 400 });
    expect(words).toContain(line);
    expect(words).toContain('Complete: everything that could be moved was moved.');
  });

  it("says nothing of the kind for the run's first execution, nor for another run whose id only looks like one", () => {
    expect(renderEnd(ended('reroute-1'), new Date('2026-11-23T10:10:00Z'), { width: 400 })).not.toContain('Resumed:');
    expect(renderEnd(ended('reroute-1-resume-x'), new Date('2026-11-23T10:10:00Z'), { width: 400 })).not.toContain('Resumed:');
  });
});

function summaryOf(queues: readonly string[]): RunSummary {
  const counters = (moved: number) => ({ ...emptyCounters(), scanned: moved, moved, movedTo: { default: moved } });
  // A deployed summary names its first 50 items; the others are counted.
  return {
    runId: 'reroute-1',
    mode: 'reroute',
    dryRun: false,
    sets: {},
    queues: Object.fromEntries(queues.slice(0, 50).map((q) => [q, counters(100)])),
    unlisted: 450,
    totals: counters(50_000),
    counts: { finished: 500, failed: 0, continued: 0 },
    failures: [],
    continuedIn: [],
    complete: true,
  };
}
