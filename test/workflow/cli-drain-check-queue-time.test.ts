import { describe, expect, it } from 'vitest';
import { clockedCli } from '../support/clocked-cli.js';
import { privateRedis } from '../support/private-redis.js';
import { floatSeconds, sidekiqPayload } from '../support/sidekiq-jobs.js';

// `drain-check` bounded its looks over the keyspace and its reads of set entries by its time
// (--time-limit, default the deployed function's 120 s), but not its reads of the queues: LLEN and
// LINDEX of every queue, in windows (queue-windows.ts), however long they took. Across a slow
// network, on a Redis of many queues (GitLab's queue per worker, emptied but still in `queues`) or
// of large jobs (a window of one queue each), they outlasted the check's time: the deployed check
// timed out and said nothing, the CLI's ran on past its bound and, the queues being empty, printed
// DRAINED. The queue reads now stop at their share of the time (check-budget.ts): the check ends
// in time, names the queues it did not read, and is never DRAINED over them (exit 1; 3 still wins).
//
// The network is slow on the child's clock, not through a proxy timed on the machine's: the shipped
// CLI runs with round-trip-clock.mjs, each round trip 40 ms (a source across a VPN), so the check's
// time is spent in a known number of round trips however loaded the machine is. Its `took` is
// that clock's, from the process's start to its exit.
const server = privateRedis();
/** A round trip to the Redis on the child's clock: a source across a VPN. */
const ROUND_TRIP_MS = 40;

async function cli(args: string[]) {
  const { code, stdout, stderr, clock } = await clockedCli(ROUND_TRIP_MS, ['drain-check', ...args]).ended;
  return { code, stdout, stderr, took: clock.elapsedMs, roundTrips: clock.roundTrips };
}

const queueName = (i: number) => `worker_queue_${String(i).padStart(4, '0')}`;

describe('sidekiq-migrate drain-check across a slow network, queues too many to read in its time', { timeout: 120_000 }, () => {
  it('1,000 queues named in `queues` whose lists are gone (emptied), 10 s: DRAINED well in time, exit 0', async () => {
    // Their lists are not there, so the check reads none of them; its last look at every place at
    // once (one-look.ts) read each queue of `queues` it had not read, one round trip a queue: 1,000
    // × 40 ms, about 45 s past the 10 s, on the way to saying DRAINED. Now one round trip for them all.
    await server.client().sadd('queues', ...Array.from({ length: 1_000 }, (_, i) => queueName(i)));
    const url = server.url();

    const checked = await cli(['--redis', url, '--time-limit', '10']);

    console.log(`drain-check of 1,000 emptied queues at 40 ms a round trip: ${checked.roundTrips} round trips, ${checked.took} ms`);
    expect(checked.took, checked.stderr).toBeLessThan(10_000);
    expect(checked.code).toBe(0);
    expect(checked.stdout.split('\n')[0]).toMatch(/^redis:\/\/127\.0\.0\.1:\d+: DRAINED — 0 job\(s\) left$/);
    expect(checked.stdout).not.toContain('not all read');
  });

  it('200 queues of one 128 KB job each, nobody listening, 6 s: ends in time, at least what it read, STUCK, exit 3, --json names the first 100 unread queues; with the time, every job counted', async () => {
    const queues = Array.from({ length: 200 }, (_, i) => queueName(i));
    const seeding = server.client().pipeline();
    for (const queue of queues) {
      seeding.sadd('queues', queue);
      seeding.lpush(`queue:${queue}`, sidekiqPayload({ className: 'Big', queue, args: `["${'x'.repeat(128 * 1024)}"]`, extra: `"enqueued_at":${floatSeconds(Date.now() / 1000 - 60)}` }));
    }
    await seeding.exec();
    const url = server.url();

    const cut = await cli(['--redis', url, '--time-limit', '6']);
    const json = await cli(['--redis', url, '--time-limit', '6', '--json']);
    const whole = await cli(['--redis', url, '--time-limit', '600', '--json']);

    console.log(`drain-check of 200 queues of 128 KB at 40 ms a round trip, --time-limit 6: ${cut.roundTrips} round trips, ${cut.took} ms; ${json.roundTrips}, ${json.took} ms (--json); --time-limit 600: ${whole.roundTrips}, ${whole.took} ms`);
    expect(cut.took).toBeLessThan(6_000);
    expect(cut.code).toBe(3);
    expect(cut.stdout).not.toMatch(/DRAINED/);
    const head = /^redis:\/\/127\.0\.0\.1:\d+: STUCK — at least (\d+) job\(s\) left$/m.exec(cut.stdout);
    expect(head, cut.stdout).not.toBeNull();
    expect(Number(head![1])).toBeLessThan(200);
    expect(cut.stdout).toContain(`\n  - at least ${head![1]} job(s) will never run as things stand (queues nobody listens to: `);
    expect(cut.stdout).toMatch(/\n {2}- queues not all read: the check's time ran out after \d+ of the 200 queues; \d+ not read \(worker_queue_\d{4}, [^)]*\): their jobs are not counted, so this is not a verdict of drained\. To look at all of it, give the check more time: --time-limit SECONDS \(this check had 6 s\)\.\n/);

    expect(json.took).toBeLessThan(6_000);
    expect(json.code).toBe(3);
    const report = JSON.parse(json.stdout) as { queues: { queue: string; depth: number }[]; remaining: number; queuesCutShort: { read: number; queues: number; unread: string[] }; verdict: { state: string } };
    const readQueues = report.queues.map((q) => q.queue);
    // What was read, then the first of what was not, in the order the check reads them.
    expect(readQueues).toEqual(queues.slice(0, readQueues.length));
    expect(report.queuesCutShort).toEqual({ read: readQueues.length, queues: 200, unread: queues.slice(readQueues.length, readQueues.length + 100) });
    expect(report.queues.every((q) => q.depth === 1)).toBe(true);
    expect(report.remaining).toBe(readQueues.length);
    expect(report.verdict.state).toBe('stuck');

    expect(whole.code).toBe(3);
    const all = JSON.parse(whole.stdout) as typeof report;
    expect(all.queues.map((q) => [q.queue, q.depth])).toEqual(queues.map((q) => [q, 1]));
    expect(all.remaining).toBe(200);
    expect(all.queuesCutShort).toBeUndefined();
  });
});
