import { describe, expect, it } from 'vitest';
import { emptyCounters } from '../../../core/reroute/reroute-counters.js';
import { emptyTally } from '../../../core/workflow/run-tally.js';
import type { WorkItem } from '../../../core/workflow/work-item.js';
import { StateNames } from '../../../infra/constructs/state-names.js';
import type { LocalEvent } from '../../../infra/local/run-workflow-locally.js';
import { Progress } from '../../../cli/workflow/progress.js';
import { bufferIo } from '../../support/buffer-io.js';
import { TerminalScreen } from '../../support/terminal-screen.js';

const item = (i: number, scanned: number, done: boolean): WorkItem => ({
  kind: 'queue',
  name: `q${i}`,
  cursor: null,
  total: 10,
  done,
  iteration: 0,
  counters: { ...emptyCounters(), scanned, moved: scanned },
});
const exited = (name: string, output: unknown): LocalEvent => ({ type: 'StateExited', state: { name, output } }) as unknown as LocalEvent;
const batch = (from: number) => Array.from({ length: 10 }, (_, i) => item(from + i, 0, false));

describe('local progress on a terminal', () => {
  it('redraws in place through 50 batches of 10 queues; a notice mid-run goes above the view, which stays whole', () => {
    const io = { ...bufferIo(true), columns: 80 };
    let now = 0;
    const progress = new Progress(io, false, () => now);
    const screen = new TerminalScreen();
    const flush = (() => {
      let at = 0;
      return () => {
        screen.write(io.stderr().slice(at));
        at = io.stderr().length;
      };
    })();

    progress.onEvent('root', exited(StateNames.plan, { plan: { itemCount: 500, plannedJobs: 5000, work: { batch: batch(0), tally: emptyTally('reroute') } } }));
    for (let b = 0; b < 50; b++) {
      for (let i = b * 10; i < b * 10 + 10; i++) {
        now += 10;
        progress.onEvent('root', exited(StateNames.rerouteQueue, { item: item(i, 10, true) }));
        flush();
      }
      if (b === 20) progress.notice('maxmemory-policy: source noeviction\n');
      if (b < 49) progress.onEvent('root', exited(StateNames.addUp, { plan: { work: { batch: batch((b + 1) * 10), tally: emptyTally('reroute') } } }));
      flush();
    }

    expect(screen.mostLinesHeld).toBeLessThanOrEqual(10);
    expect(screen.widest).toBeLessThanOrEqual(80);
    expect(screen.text().filter(Boolean)).toEqual(['maxmemory-policy: source noeviction', 'Jobs 5,000 of 5,000 (100%) · 5,000 moved · 1,000/s', 'Items: 500 done · 0 in progress · 0 waiting · 0 failed']);
    expect(progress.seen()).toHaveLength(500);
  });
});

describe('local progress in a pipe or a log file', () => {
  it('names each set and queue whole, one line per page: two queues of one long prefix are told apart', () => {
    const io = bufferIo(false);
    const progress = new Progress(io, false, () => 0);
    const names = ['authorized_project_update:authorized_project_update_user_refresh_with_low_urgency', 'authorized_project_update:authorized_project_update_user_refresh_over_user_range'];
    const items = names.map((name, i): WorkItem => ({ ...item(i, 6, true), name, total: 6 }));

    progress.onEvent('root', exited(StateNames.plan, { plan: { itemCount: 2, plannedJobs: 12, work: { batch: items, tally: emptyTally('reroute') } } }));
    for (const i of items) progress.onEvent('root', exited(StateNames.rerouteQueue, { item: i }));

    expect(io.stderr().trimEnd().split('\n')).toEqual(names.map((name) => `queue:${name} [########################]        6 seen        6 moved  done`));
  });
});

