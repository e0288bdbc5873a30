// A move that ends with jobs still on the source (a producer pushed during it) said only "Done,
// but jobs remain on the source (N, above): run move again." even when it also left a quarantine
// list it does not transfer, while the deployed summary of the same run lists both
// (left-behind.ts, leftBehindOf). The verdict names the list too.
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
const job = (queue: string, i: number) => sidekiqPayload({ className: 'A', queue, args: `[${i}]` });

describe('a move with jobs still on the source and a quarantine list it does not transfer', { timeout: 180_000 }, () => {
  it('names both in its verdict', async () => {
    const source = redis.source();
    const originals = Array.from({ length: 3000 }, (_, i) => job('q', i));
    for (let i = 0; i < originals.length; i += 500) await source.lpush('queue:q', ...originals.slice(i, i + 500));
    await source.sadd('queues', 'q');
    await source.rpush('sidekiq-migrate:quarantine:lost', job('lost', 1));

    const producer = new Redis(redis.urls().source, { protocol: 2 });
    let running = true;
    let pushed = 0;
    const pushing = (async () => {
      while (running) await producer.lpush('queue:q', job('q', 100_000 + pushed++));
    })();
    const move = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--page-size', '100');
    running = false;
    await pushing;
    producer.disconnect();

    expect(move.code).toBe(0);
    expect(move.stdout).toMatch(/^[\d,]+ job\(s\) still on the source when their transfer ended, added during the run \(queue:q [\d,]+\): run move again or see drain-check\.$/m);
    expect(move.stdout).toContain('Not transferred, left on the source: sidekiq-migrate:quarantine:lost 1');
    expect(move.stdout.trimEnd().split('\n').at(-1)).toMatch(/^Done, but jobs remain on the source \([\d,]+, above\): run move again\. Also left behind: 1 list\(s\) not transferred \(see "Needs a look" above\)\.$/);
  });
});
