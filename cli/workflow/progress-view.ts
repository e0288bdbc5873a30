import { displayName } from '../../core/redis/key-name.js';
import { clip, count, formatDuration, shorten } from './fit.js';

/** How far one set or queue is: what the local runner and a deployed run's watcher both know. */
export interface ItemCounts {
  readonly kind: 'set' | 'queue';
  readonly name: string;
  /** Its size when planned. */
  readonly total?: number;
  /** Jobs looked at (re-route: scanned; transfer: claimed; selective: examined). */
  readonly seen: number;
  /** Jobs moved (re-route) or written to the target (transfer). */
  readonly moved: number;
  readonly done: boolean;
}

/**
 * A selective transfer: items' `seen` are the jobs examined (every job of the source is looked
 * at, few are taken), and `jobs` the selected jobs the plan counted, when known.
 */
export interface SelectionProgress {
  readonly jobs?: number;
}

/** One set or queue as the progress view shows it. */
export interface ViewItem extends ItemCounts {
  readonly failed?: boolean;
}

export interface ViewState {
  /** The items met so far (the plan lists the rest on Redis; they are "waiting"). */
  readonly items: readonly ViewItem[];
  readonly selection?: SelectionProgress;
  /** Sets and queues the run planned, and the jobs in them then, when known. */
  readonly plannedItems?: number;
  readonly plannedJobs?: number;
  readonly elapsedMs: number;
  /** Items failed, when counted elsewhere (the run's tally); else those marked `failed`. */
  readonly failed?: number;
  /** A first line (watch: the execution, its status and state). */
  readonly header?: string;
  /** A dry run: its jobs are ones a run would move. */
  readonly dryRun?: boolean;
  /** The run ended (a deployed one's `status` after its end): no time left to say, whatever it did not reach. */
  readonly ended?: boolean;
}

/** Items in progress drawn one per line; the others are only counted. */
export const SHOWN_IN_PROGRESS = 5;

/**
 * The terminal view of a run, whatever its number of sets and queues: at most 9 lines of at most
 * `width` columns — the overall line (jobs of the planned total, rate, time left), up to
 * SHOWN_IN_PROGRESS items in progress, and counts of items done, in progress, waiting and failed.
 * Finished items collapse into the counts.
 */
export function progressView(state: ViewState, width: number): string[] {
  const seen = state.items.reduce((a, i) => a + i.seen, 0);
  const moved = state.items.reduce((a, i) => a + i.moved, 0);
  const seconds = state.elapsedMs / 1000;
  const rate = seconds > 0 ? seen / seconds : 0;
  const planned = state.plannedJobs;
  const percent = (part: number, whole: number) => `${whole > 0 ? Math.min(100, Math.floor((part / whole) * 100)) : 100}%`;
  const selected = state.selection?.jobs;
  const movedWord = state.dryRun ? 'would move' : 'moved';
  // A selective move examines every job of the source but takes only the selected ones: never
  // "Jobs N of every job". (No percentage: the line must fit 80 columns with both counts.)
  const jobs = state.selection
    ? [
        planned !== undefined ? `Examining ${count(seen)}/${count(planned)}` : `Examining: ${count(seen)} seen`,
        selected !== undefined ? `${count(moved)}/${count(selected)} selected ${movedWord}` : `${count(moved)} selected ${movedWord}`,
      ]
    : [planned !== undefined ? `Jobs ${count(seen)} of ${count(planned)} (${percent(seen, planned)})` : `Jobs ${count(seen)} seen`, `${count(moved)} ${movedWord}`];
  const overall = [
    ...jobs,
    `${count(rate)}/s`,
    ...(!state.ended && planned !== undefined && rate > 0 && seen < planned ? [`${formatDuration(((planned - seen) / rate) * 1000)} left`] : []),
  ].join(' · ');

  const running = state.items.filter((i) => !i.done && !i.failed);
  const finished = state.items.filter((i) => i.done && !i.failed).length;
  const failed = Math.max(state.failed ?? 0, state.items.filter((i) => i.failed).length);
  // A failed item the tally counts but does not name still looks in progress: count it once.
  const unnamedFailed = failed - state.items.filter((i) => i.failed).length;
  const inProgress = Math.max(0, running.length - unnamedFailed);
  const waiting = Math.max(0, (state.plannedItems ?? state.items.length) - state.items.length);
  // Started items first (they move), then the rest of the batch.
  const shown = [...running].sort((a, b) => Number(b.seen > 0) - Number(a.seen > 0)).slice(0, SHOWN_IN_PROGRESS);

  const lines = [...(state.header ? [state.header] : []), overall];
  const labelWidth = Math.max(0, ...shown.map((i) => label(i).length));
  for (const item of shown) lines.push(itemLine(item, width, labelWidth));
  if (running.length > shown.length) lines.push(`  … and ${count(running.length - shown.length)} more in progress`);
  // An ended run has nothing in progress nor waiting: its items that did not finish are said so.
  const [started, notStarted] = state.ended ? ['not finished', 'not started'] : ['in progress', 'waiting'];
  lines.push(`Items: ${count(finished)} done · ${count(inProgress)} ${started} · ${count(waiting)} ${notStarted} · ${count(failed)} failed`);
  return lines.map((l) => clip(l, width));
}

const label = (item: ViewItem) => (item.kind === 'queue' ? `queue:${displayName(item.name)}` : item.name);

function itemLine(item: ViewItem, width: number, labelWidth: number): string {
  const total = item.total ?? 0;
  const numbers = total > 0 ? `${count(item.seen)}/${count(total)}` : count(item.seen);
  const bar = 12;
  const filled = Math.round((total > 0 ? Math.min(1, item.seen / total) : 0) * bar);
  const nameWidth = Math.max(8, Math.min(labelWidth, width - 2 - 1 - (bar + 2) - 1 - numbers.length));
  return `  ${shorten(label(item), nameWidth).padEnd(nameWidth)} [${'#'.repeat(filled)}${'-'.repeat(bar - filled)}] ${numbers}`;
}
