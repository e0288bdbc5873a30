import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';

// Found with real Sidekiq 6.4 (tmp-prof/scen-requeue.sh of the audit): its fetchers held every job
// of queue:old1 when `run --rename old1=new1` planned (the list was gone, the queue still in
// `queues`); stopped during the run, Sidekiq put the jobs it had not finished back on queue:old1.
// No item was ever listed for that queue, so nothing counted them, and the run said 'Complete:
// everything that could be moved was moved.' over three jobs on a retired queue.
const redis = privateSourceAndTarget();
const job = (queue: string, i: number) => sidekiqPayload({ className: 'A', queue, args: `[${i}]`, jid: String(i).padStart(24, '0') });

describe('jobs put back on a retired queue that was empty when the run planned', { timeout: 180_000 }, () => {
  it('are reported as arrived, never "Complete"', async () => {
    const source = redis.source();
    const originals = Array.from({ length: 20_000 }, (_, i) => job('busy', i));
    for (let i = 0; i < originals.length; i += 1000) await source.lpush('queue:busy', ...originals.slice(i, i + 1000));
    // queue:idle has no list (a fetcher holds its jobs) but Sidekiq knows the queue.
    await source.sadd('queues', 'busy', 'idle');

    // Once the run is moving jobs, the fetcher's shutdown requeue puts its three jobs back.
    const sidekiq = new Redis(redis.urls().source, { protocol: 2 });
    const requeued = [1, 2, 3].map((i) => job('idle', 900_000 + i));
    let pushedWhileRunning: boolean | undefined;
    let running = true;
    const requeue = (async () => {
      while (running && (await sidekiq.llen('queue:new-busy')) === 0) await new Promise((r) => setTimeout(r, 5));
      if (!running) return;
      await sidekiq.rpush('queue:idle', ...requeued);
      pushedWhileRunning = (await sidekiq.llen('queue:busy')) > 0;
    })();
    const run = await runCli('run', '--redis', redis.urls().source, '--rename', 'busy=new-busy', '--rename', 'idle=new-idle', '--page-size', '100');
    running = false;
    await requeue;
    sidekiq.disconnect();

    expect(pushedWhileRunning, run.stdout).toBe(true);
    expect(run.code, run.stdout).toBe(0);
    expect(await source.llen('queue:idle')).toBe(3);
    expect(run.stdout).toContain('3 job(s) arrived on retired queues during the run (queue:idle 3): not moved by this run; run again or see drain-check.');
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs were left behind: 3 arrived on retired queues during the run (see "Needs a look" above).');
    // The queue it found them on is one of the summary's queues, in every count of them.
    expect(run.stdout).toMatch(/^queues \(2\) /m);
    expect(run.stdout).toContain('Largest sets and queues (5 of 5), by moved:');
    expect(run.stdout).toMatch(/^queue:idle +0 +0 +0$/m);
  });

  it('move: are named as still on the source, never "Complete"', async () => {
    const source = redis.source();
    await source.flushdb();
    const originals = Array.from({ length: 20_000 }, (_, i) => job('busy', i));
    for (let i = 0; i < originals.length; i += 1000) await source.lpush('queue:busy', ...originals.slice(i, i + 1000));
    await source.sadd('queues', 'busy', 'idle');
    const target = new Redis(redis.urls().target, { protocol: 2 });

    const sidekiq = new Redis(redis.urls().source, { protocol: 2 });
    const requeued = [1, 2, 3].map((i) => job('idle', 900_000 + i));
    let pushedWhileRunning: boolean | undefined;
    let running = true;
    const requeue = (async () => {
      while (running && (await target.llen('queue:busy')) === 0) await new Promise((r) => setTimeout(r, 5));
      if (!running) return;
      await sidekiq.rpush('queue:idle', ...requeued);
      pushedWhileRunning = (await sidekiq.llen('queue:busy')) > 0;
    })();
    const run = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--page-size', '100');
    running = false;
    await requeue;
    sidekiq.disconnect();
    target.disconnect();

    expect(pushedWhileRunning, run.stdout).toBe(true);
    expect(run.code, run.stdout).toBe(0);
    expect(await source.llen('queue:idle')).toBe(3);
    expect(run.stdout).toContain('3 job(s) still on the source when their transfer ended, added during the run (queue:idle 3): run move again or see drain-check.');
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs remain on the source (3, above): run move again.');
  });

  it('run: jobs put back on a retired queue after its own item ended are reported too', async () => {
    const source = redis.source();
    await source.flushdb();
    // queue:a-old (one job left by the fetchers) is listed before queue:busy: it ends first.
    await source.lpush('queue:a-old', job('a-old', 1));
    const originals = Array.from({ length: 20_000 }, (_, i) => job('busy', 10 + i));
    for (let i = 0; i < originals.length; i += 1000) await source.lpush('queue:busy', ...originals.slice(i, i + 1000));
    await source.sadd('queues', 'busy', 'a-old');

    const sidekiq = new Redis(redis.urls().source, { protocol: 2 });
    const requeued = [1, 2, 3].map((i) => job('a-old', 900_000 + i));
    let pushedWhileRunning: boolean | undefined;
    let running = true;
    const requeue = (async () => {
      while (running && (await sidekiq.llen('queue:new-busy')) === 0) await new Promise((r) => setTimeout(r, 5));
      if (!running) return;
      await sidekiq.rpush('queue:a-old', ...requeued);
      pushedWhileRunning = (await sidekiq.llen('queue:busy')) > 0;
    })();
    const run = await runCli('run', '--redis', redis.urls().source, '--rename', 'busy=new-busy', '--rename', 'a-old=a-new', '--page-size', '100');
    running = false;
    await requeue;
    sidekiq.disconnect();

    expect(pushedWhileRunning, run.stdout).toBe(true);
    expect(await source.lrange('queue:a-old', 0, -1)).toEqual(requeued);
    expect(await source.llen('queue:a-new')).toBe(1);
    expect(run.stdout).toContain('3 job(s) arrived on retired queues during the run (queue:a-old 3): not moved by this run; run again or see drain-check.');
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs were left behind: 3 arrived on retired queues during the run (see "Needs a look" above).');
  });
});
