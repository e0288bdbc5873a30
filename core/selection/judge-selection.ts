import type { DrainReport } from '../drain/drain-report.js';
import type { SelectedJobCounts } from './count-selected-jobs.js';
import { RUNNING_WHERE } from './running-selected.js';

/** What a drain check found of the selected classes on one Redis. */
export interface SelectionDrain {
  /** How the classes were chosen. */
  readonly description: string;
  readonly classes: number;
  /** Jobs of the selection still here (queues, fetchers' private lists, and every set read: dead and interrupted too). */
  readonly left: number;
  /** class → where → jobs: only classes with jobs left. */
  readonly byClass: Record<string, Record<string, number>>;
  readonly withoutJobs: readonly string[];
  /** Jobs claimed by interrupted transfers and not yet written: their classes are unknown here. */
  readonly inflight: number;
  /**
   * Of `left`, those in the private lists of live workers (reliable fetch), or that live workers
   * run with Sidekiq's own fetch (in no list, only in their heartbeat): being worked
   * now. A move does not take them (no move takes a job a worker holds): they finish, or come back
   * to their queue if the worker dies; running the move again does nothing for them.
   */
  readonly working: number;
  /** Drained of the selection: none of its jobs is left, nothing is in flight, and every live process beat twice after none was found. */
  readonly drained: boolean;
  /** Live processes (the first 10 of `unsureCount`) not heard beating twice after none was found (confirm-selection.ts). */
  readonly unsure?: readonly string[];
  readonly unsureCount?: number;
}

/**
 * The selection's part of a drain check, and the report with a verdict that never says `drained`
 * while jobs of the selection remain. (The Redis's own verdict leaves dead entries out; a class
 * carried to another shard must take those too.)
 */
export function judgeSelection(report: DrainReport, counts: SelectedJobCounts, classes: readonly string[], description: string, unsure?: { readonly names: readonly string[]; readonly count: number }): { report: DrainReport; selection: SelectionDrain } {
  const inflight = report.inflight.reduce((n, l) => n + l.size, 0);
  // Live processes not heard beating twice after none was found (confirm-selection.ts): not drained.
  const drained = counts.selected === 0 && inflight === 0 && unsure === undefined;
  // In the private lists of live owners, or running where only their heartbeat shows it (running-selected.ts).
  const working = (report.fetched ?? []).filter((l) => l.ownerAlive).reduce((n, l) => n + (counts.byKey.get(l.key) ?? 0), counts.byKey.get(RUNNING_WHERE) ?? 0);
  const selection: SelectionDrain = {
    description,
    classes: classes.length,
    left: counts.selected,
    byClass: Object.fromEntries([...counts.byClass].map(([cls, perKey]) => [cls, Object.fromEntries(perKey)])),
    withoutJobs: classes.filter((c) => !counts.byClass.has(c)),
    inflight,
    working,
    drained,
    ...(unsure ? { unsure: unsure.names, unsureCount: unsure.count } : {}),
  };
  if (counts.selected === 0 || report.verdict.state !== 'drained') return { report, selection };
  const reason =
    working === counts.selected
      ? `${counts.selected} job(s) of the selected classes are being worked by live workers here (in their private lists, or running where only their heartbeat shows them): wait for them to finish, then check again (a move does not take a job a worker holds)`
      : `${counts.selected} job(s) of the selected classes are still here (dead or interrupted entries included${working > 0 ? `; ${working} of them being worked by live workers, which a move does not take` : ''}): run the move again`;
  return { report: { ...report, verdict: { ...report.verdict, state: 'draining', reasons: [...report.verdict.reasons, reason] } }, selection };
}
