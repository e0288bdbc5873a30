import type { WorkItem } from '../../core/workflow/work-item.js';
import { StateNames } from '../../infra/constructs/state-names.js';
import type { LocalEvent } from '../../infra/local/run-workflow-locally.js';
import type { CliIo } from '../cli-io.js';

const PAGE_STATES = new Set<string>([StateNames.rerouteSet, StateNames.rerouteQueue, StateNames.transferSet, StateNames.transferQueue]);
const BAR = 24;

/**
 * Progress of a run from the state machine's events: on a terminal, a bar per set and queue
 * redrawn in place; in a pipe, one plain line per page. Never more than one line per page.
 */
export class Progress {
  private readonly items = new Map<string, WorkItem>();
  private drawn = 0;

  constructor(private readonly io: CliIo) {}

  onEvent = (_execution: string, event: LocalEvent): void => {
    if (event.type !== 'StateExited' || !event.state) return;
    const output = (event.state as { output?: unknown }).output as { plan?: { work?: { batch?: WorkItem[] } }; item?: WorkItem } | undefined;
    // The plan and each "add up" give the next batch of sets and queues.
    if ((event.state.name === StateNames.plan || event.state.name === StateNames.addUp) && output?.plan?.work?.batch) {
      for (const item of output.plan.work.batch) this.items.set(key(item), item);
      this.draw();
    } else if (PAGE_STATES.has(event.state.name) && output?.item) {
      this.items.set(key(output.item), output.item);
      if (this.io.interactive) this.draw();
      else this.io.err(`${line(output.item)}\n`);
    }
  };

  private draw(): void {
    if (!this.io.interactive) return;
    const lines = [...this.items.values()].map(line);
    // Move up over what was drawn before and redraw every line.
    this.io.err(`${this.drawn > 0 ? `\x1b[${this.drawn}F` : ''}${lines.map((l) => `\x1b[2K${l}`).join('\n')}\n`);
    this.drawn = lines.length;
  }
}

const key = (item: WorkItem) => `${item.kind}:${item.name}`;

function line(item: WorkItem): string {
  const c = item.counters as unknown as Record<string, number>;
  const seen = c['scanned'] ?? c['claimed'] ?? 0;
  const moved = c['moved'] ?? c['written'] ?? 0;
  const total = item.total ?? 0;
  const fraction = item.done ? 1 : total > 0 ? Math.min(1, seen / total) : 0;
  const filled = Math.round(fraction * BAR);
  const name = (item.kind === 'queue' ? `queue:${item.name}` : item.name).padEnd(28).slice(0, 28);
  return `${name} [${'#'.repeat(filled)}${'-'.repeat(BAR - filled)}] ${String(seen).padStart(8)} seen ${String(moved).padStart(8)} moved${item.done ? '  done' : ''}`;
}
