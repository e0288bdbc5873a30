import { displayName } from '../../core/redis/key-name.js';
import type { RerouteCounters } from '../../core/reroute/reroute-counters.js';
import type { TransferCounters } from '../../core/transfer/transfer-counters.js';
import type { RunTally } from '../../core/workflow/run-tally.js';
import { namesFewer } from '../../core/workflow/steps/page-step.js';
import type { RunSettings, WorkItem } from '../../core/workflow/work-item.js';
import { StateNames } from '../../infra/constructs/state-names.js';
import type { LocalEvent } from '../../infra/local/run-workflow-locally.js';
import type { CliIo } from '../cli-io.js';
import { screenWidth } from './fit.js';
import { progressView, type SelectionProgress, type ViewItem } from './progress-view.js';

const PAGE_STATES = new Set<string>([StateNames.rerouteSet, StateNames.rerouteQueue, StateNames.transferSet, StateNames.transferQueue]);
const BAR = 24;

/** An item's latest counters as the CLI saw them: what `--verbose` and `--json` list. */
export interface SeenItem {
  readonly kind: 'set' | 'queue';
  readonly name: string;
  readonly counters: RerouteCounters | TransferCounters;
}

/**
 * Progress of a run from the state machine's events: on a terminal, a compact view redrawn in
 * place (progress-view.ts: at most 9 lines, whatever the number of sets and queues); in a pipe,
 * one plain line per page; quiet with --json. Keeps every item's latest counters for the summary.
 */
export class Progress {
  private readonly items = new Map<string, WorkItem>();
  private plannedItems: number | undefined;
  private plannedJobs: number | undefined;
  /** A dry run moves nothing: its pages say what a run would move. */
  private dryRun = false;
  /** A dry run carrying a large routing: its items name fewer destinations than a run's (page-step.ts). */
  private fewerDestinations = false;
  /** Items that failed, per execution (its tally counts them all, names the first). */
  private readonly failedIn = new Map<string, number>();
  private readonly failedNames = new Set<string>();
  private readonly started: number;
  private drawn = 0;

  /** Set by the plan of a selective transfer: the jobs its plan counted (`selectedJobs`), when given. */
  private selection: SelectionProgress | undefined;

  constructor(
    private readonly io: CliIo,
    private readonly quiet = false,
    private readonly now: () => number = Date.now,
    /** A selective move's selected jobs, as its plan per class counted them before the run. */
    private readonly selectedJobs?: number,
  ) {
    this.started = now();
  }

  onEvent = (execution: string, event: LocalEvent): void => {
    if (event.type !== 'StateExited' || !event.state) return;
    const output = (event.state as { output?: unknown }).output as
      | { plan?: { itemCount?: number; plannedJobs?: number; settings?: RunSettings; work?: { batch?: WorkItem[]; tally?: RunTally } }; item?: WorkItem }
      | undefined;
    const tally = output?.plan?.work?.tally;
    if (tally) {
      this.failedIn.set(execution, tally.counts.failed);
      for (const f of tally.failures) this.failedNames.add(`${f.kind}:${f.name}`);
    }
    // The plan and each "add up" give the next batch of sets and queues.
    if ((event.state.name === StateNames.plan || event.state.name === StateNames.addUp) && output?.plan?.work?.batch) {
      // The first plan is the run's (a continued execution's plan lists only what it continues).
      if (event.state.name === StateNames.plan && this.plannedItems === undefined) {
        this.plannedItems = output.plan.itemCount;
        this.plannedJobs = output.plan.plannedJobs;
        const settings = output.plan.settings;
        this.dryRun = settings?.dryRun === true;
        this.fewerDestinations = settings !== undefined && namesFewer(settings);
        if (settings?.selected || settings?.inlineClasses) this.selection = this.selectedJobs === undefined ? {} : { jobs: this.selectedJobs };
      }
      for (const item of output.plan.work.batch) if (!this.items.has(key(item))) this.items.set(key(item), item);
      this.draw();
    } else if (PAGE_STATES.has(event.state.name) && output?.item) {
      this.items.set(key(output.item), output.item);
      if (this.quiet) return;
      if (this.redraws) this.draw();
      else this.io.err(`${line(output.item, this.dryRun)}\n`);
    }
  };

  /**
   * Prints a notice (stderr) above the view: on a terminal the view is taken down first and drawn
   * again below, so that a notice in the middle of a run (a continued execution's plan) does not
   * tear it.
   */
  notice(text: string): void {
    if (!text) return;
    if (this.quiet || !this.redraws || this.drawn === 0) {
      this.io.err(text);
      return;
    }
    this.io.err(`\x1b[${this.drawn}F\x1b[J${text}`);
    this.drawn = 0;
    this.draw();
  }

  /** Whether this dry run's items named fewer destinations than a run's would (known once it planned). */
  namesFewerDestinations(): boolean {
    return this.fewerDestinations;
  }

  /** Every item met, with its latest counters. */
  seen(): SeenItem[] {
    return [...this.items.values()].map((i) => ({ kind: i.kind, name: i.name, counters: i.counters }));
  }

  /** The view is redrawn in place only when both outputs are a terminal: stderr, where it is drawn, too. */
  private get redraws(): boolean {
    return this.io.interactive && this.io.errInteractive !== false;
  }

  private draw(): void {
    if (this.quiet || !this.redraws) return;
    const lines = progressView(
      {
        items: [...this.items.values()].map((i) => ({ ...viewItem(i), failed: this.failedNames.has(key(i)) })),
        failed: [...this.failedIn.values()].reduce((a, b) => a + b, 0),
        plannedItems: this.plannedItems, plannedJobs: this.plannedJobs, elapsedMs: this.now() - this.started,
        ...(this.dryRun ? { dryRun: true } : {}),
        ...(this.selection ? { selection: this.selection } : {}),
      },
      screenWidth(this.io.columns),
    );
    // Move up over what was drawn before, redraw, and clear what a longer earlier view left below (J).
    const up = this.drawn > 0 ? `\x1b[${this.drawn}F` : '';
    this.io.err(`${up}${lines.map((l) => `\x1b[2K${l}`).join('\n')}\n${this.drawn > lines.length ? '\x1b[J' : ''}`);
    this.drawn = lines.length;
  }
}

const key = (item: WorkItem) => `${item.kind}:${item.name}`;

function seenOf(item: WorkItem): { seen: number; moved: number } {
  const c = item.counters as unknown as Record<string, number>;
  // A selective transfer examines every job and claims few: its progress is what it examined.
  return { seen: c['scanned'] ?? c['examined'] ?? c['claimed'] ?? 0, moved: c['moved'] ?? c['written'] ?? 0 };
}

function viewItem(item: WorkItem): ViewItem {
  return { kind: item.kind, name: item.name, ...(item.total === undefined ? {} : { total: item.total }), ...seenOf(item), done: item.done };
}

function line(item: WorkItem, dryRun: boolean): string {
  const { seen, moved } = seenOf(item);
  const total = item.total ?? 0;
  const fraction = item.done ? 1 : total > 0 ? Math.min(1, seen / total) : 0;
  const filled = Math.round(fraction * BAR);
  // Whole: a log is read for which queue a page was of, and names cut at 28 characters were alike
  // ("queue:authorized_project_upd" for six queues of GitLab's).
  const name = (item.kind === 'queue' ? `queue:${displayName(item.name)}` : item.name).padEnd(28);
  return `${name} [${'#'.repeat(filled)}${'-'.repeat(BAR - filled)}] ${String(seen).padStart(8)} seen ${String(moved).padStart(8)} ${dryRun ? 'would move' : 'moved'}${item.done ? '  done' : ''}`;
}
