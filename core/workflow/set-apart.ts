import { BATCH_SIZE } from './work-list.js';
import type { RunSettings, WorkItem } from './work-item.js';

/**
 * A set item of more than one page runs in an execution of its own (issue #18). A set is one long
 * chain of pages (a `schedule` or `retry` of 50,000 entries: 50 slices in a row), and the root's
 * batch of ten items waits for its longest item: the next batch's queues waited for the sets for
 * 45–55 % of a move (bench/README.md, audit-speed-batch). Handed on as an item at its loop cap is
 * (the definition's own "Item done?" starts it as an item continuation), the set runs beside the
 * root's batches, which go on at once. Up to maxConcurrency + the run's sets items are then in flight.
 *
 * Only in a run whose list is longer than one batch (`setsApart`, set by the plan: in one batch
 * nothing waits for the set but the run's end), for an item's first task in the execution that
 * listed it (`continues` absent: not already a continuation), of a run that writes (a dry run records no executions), for a set that had more
 * than one page's entries when planned (a smaller one is done in one page, sooner than an
 * execution starts). The decision reads the input alone, so every attempt of one input makes it
 * alike: a retried hand-off hands off again, never pages.
 */
export function setGoesApart(settings: Pick<RunSettings, 'dryRun' | 'pageSize' | 'setsApart'>, item: WorkItem): boolean {
  return settings.setsApart === true && !settings.dryRun && item.kind === 'set' && item.continues === undefined && item.iteration === 0 && !item.done && (item.total ?? 0) > settings.pageSize;
}

/**
 * Whether the plan lets this run's sets go apart (RunSettings.setsApart): a list longer than one
 * batch (in one batch nothing waits for a set but the run's end), a run that writes, and no
 * `--rate-limit`: its operator bounded the load, and each set apart would add one more item moving
 * at that rate beside the Map's (cli-sets-apart.test.ts).
 */
export function setsMayGoApart(listed: number, settings: Pick<RunSettings, 'dryRun' | 'rateLimit'>): boolean {
  return listed > BATCH_SIZE && !settings.dryRun && settings.rateLimit === undefined;
}

/** The item as handed on: at its loop cap, nothing else changed (its cursor and counters go with it). */
export function handedApart(settings: Pick<RunSettings, 'maxIterations'>, item: WorkItem): WorkItem {
  return { ...item, iteration: Math.max(item.iteration, settings.maxIterations) };
}
