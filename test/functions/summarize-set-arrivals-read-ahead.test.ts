import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { renderSummary } from '../../cli/workflow/render-summary.js';
import { COUNT_READS_AHEAD } from '../../core/workflow/steps/count-set-entries.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { commandClock } from '../support/command-clock.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { fakeContext } from './support/lambda-harness.js';
import { lambdaOnOwnServers } from './support/lambda-on-own-servers.js';
import { runToSummary, summarizeInput, viaJson } from './support/run-workflow.js';

// A re-route's summary counts the entries its routing moves added to its sets after their pass
// ended (count-set-entries.ts), stopped at its share of the summary's time. Each page's next
// ZRANGEs (up to COUNT_READS_AHEAD outstanding) are sent before the page is examined (a read ahead,
// issue #18): when the time ran out while a page was examined, the page read ahead was examined all
// the same, past the time. A Lambda is killed at its timeout: the count now stops where it would
// with no read ahead, the page read ahead and not begun in time is not examined (nor those after
// it), and their entries are among those said not read.
//
// Time is the round trips the container's client makes (commandClock, perRoundTrip: 500 ms each),
// so the time runs out on a ZRANGE's send, with the page before it not yet examined: every count
// cut short on this clock ends with a page read ahead in flight, whichever round trip it is.
const LEFT_MS = 60_000;
const MS_PER_ROUND_TRIP = 500;
/** The pass's own rewrites left in `schedule` (naming `new`): each a ZRANGE-page entry the count reads. */
const REWRITTEN = 20_000;
const LATE = 4;
const lambda = lambdaOnOwnServers({ targetArgs: false });

const entry = (queue: string, i: number) => sidekiqPayload({ className: 'A', queue, args: `[${i}]`, jid: i.toString(16).padStart(24, '0') });

/** The ZRANGEs of `key` the client sends: the range asked, in order. */
function zrangesOf(client: Redis, key: string): { reads: { from: number; to: number }[]; stop: () => void } {
  const reads: { from: number; to: number }[] = [];
  const c = client as unknown as { sendCommand: (command: { name: string; args: unknown[] }, ...rest: unknown[]) => unknown };
  const send = c.sendCommand;
  c.sendCommand = function (this: unknown, command, ...rest) {
    if (command.name.toLowerCase() === 'zrange' && String(command.args[0]) === key) reads.push({ from: Number(String(command.args[1])), to: Number(String(command.args[2])) });
    return send.call(this, command, ...rest);
  };
  return { reads, stop: () => (c.sendCommand = send) };
}

describe("the summarize handler of a re-route, its count of late set arrivals cut short with a page read ahead", { timeout: 180_000 }, () => {
  it('examines no page after its time: the page read ahead is among the entries said not read, never "Complete"', async () => {
    const { h, source } = lambda;
    await source.rpush('queue:old', entry('old', 0));
    await source.sadd('queues', 'old');
    await source.zadd('schedule', '1895459303.5', entry('old', 1));
    const run = await runToSummary(h, { runId: 'ahead-1', mode: 'reroute', sets: ['schedule'], routing: { kind: 'renames', renames: { old: 'new' } } });
    // What the count reads: entries already routed (as a pass's rewrites are), and a few of the
    // retired queue added since its pass ended, which the count would name if it read them.
    for (let i = 0; i < REWRITTEN; i += 5_000) {
      const args: (string | number)[] = [];
      for (let j = i; j < i + 5_000; j++) args.push(1_895_460_000 + j, entry('new', 100 + j));
      await source.zadd('schedule', ...args);
    }
    for (let i = 0; i < LATE; i++) await source.zadd('schedule', 1_895_500_000 + i, entry('old', 50_000 + i));
    const total = await source.zcard('schedule');

    const { redis } = await h.connections.get('source');
    const clock = commandClock([redis], MS_PER_ROUND_TRIP, { perRoundTrip: true });
    const zranges = zrangesOf(redis, 'schedule');
    let summary: RunSummary;
    let took: number;
    try {
      const started = Date.now();
      summary = viaJson((await h.summarize(summarizeInput(run), fakeContext(LEFT_MS))) as RunSummary);
      took = Date.now() - started;
    } finally {
      zranges.stop();
      clock.stop();
    }

    expect(took, `${took / MS_PER_ROUND_TRIP} round trips`).toBeLessThanOrEqual(LEFT_MS);
    // The entries each read adds: after the first, each starts on the last entry of the one before.
    const sizes = zranges.reads.map((r, i) => Math.min(r.to, total - 1) - r.from + 1 - (i > 0 ? 1 : 0));
    // It read some pages in time, not the whole set; the reads cover it from its start, in order,
    // each after the first starting on the last entry of the one before (checked: count-set-entries.ts).
    expect(zranges.reads.length).toBeGreaterThanOrEqual(COUNT_READS_AHEAD + 2);
    expect(zranges.reads.map((r) => r.from)).toEqual([0, ...zranges.reads.slice(0, -1).map((r) => r.to)]);
    expect(sizes.reduce((a, b) => a + b, 0)).toBeLessThan(total);
    // The last COUNT_READS_AHEAD ZRANGEs were the reads ahead in flight when the time ran out
    // (sent in time, the page before them still to examine): not examined, their entries not read,
    // as every page after them.
    const examined = sizes.slice(0, -COUNT_READS_AHEAD).reduce((a, b) => a + b, 0);
    expect(summary.setArrivalsCutShort).toEqual({ sets: ['schedule'], unread: total - examined });

    const out = renderSummary(summary, 'source');
    const n = (total - examined).toLocaleString('en-US');
    expect(out).toContain(
      `\nThe count of entries of retired queues added to schedule after their pass ended (a retry handler, a scheduler) was cut short: the summary's time for it ran out with ${n} entries not read.`,
    );
    expect(out.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`^Done, but jobs may have been left behind: .*entries added to schedule after their pass ended not all counted \\(cut short with ${n} entries not read\\)`));
    expect(out).not.toContain('Complete');
    expect(await source.zcard('schedule')).toBe(total);
  });
});
