import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { beatingProcess, type BeatingProcess } from '../support/beating-process.js';
import { bufferIo } from '../support/buffer-io.js';
import { privateRedis } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// With live processes, drain-check's `drained` is confirmed after a wait for two beats by another
// atomic look at the places it found empty (confirm-drained.ts): the quarantine lists its walk
// found, and only those. A list a concurrent `run --unmapped quarantine` created during that wait
// was in no count, and the check said DRAINED, exit 0, over it. It now walks for quarantine lists
// again after that look.
const redis = privateRedis();
const keys = new SidekiqKeys('');
const processes: BeatingProcess[] = [];
afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.stop()));
});

const WAITING = /^Nothing left in lists and sets; waiting up to \d+ s for the 1 live Sidekiq process\(es\) to beat twice/m;

describe('drain-check when a quarantine list appears while it waits for heartbeats', { timeout: 60_000 }, () => {
  it('counts and names the quarantined job, never DRAINED, exit 3', async () => {
    const c = redis.client();
    await c.sadd('queues', 'old', 'new');
    processes.push(beatingProcess(c, keys, 'web-1:8:bbbbbbbbbbbb', ['new'], { everyMs: 300 }));
    const payload = sidekiqPayload({ className: 'Unmapped', queue: 'old', jid: '0123456789abcdef01234567' });

    const io = bufferIo();
    let done = false;
    const checking = main(['node', 'sidekiq-migrate', 'drain-check', '--redis', redis.url()], io).finally(() => (done = true));
    while (!done && !WAITING.test(io.stderr())) await new Promise((resolve) => setTimeout(resolve, 5));
    // The quarantining run's move of a job pushed to `old` after the check read it empty.
    await c.lpush('sidekiq-migrate:quarantine:old', payload);
    const code = await checking;

    expect(io.stderr()).toMatch(WAITING);
    expect(io.stdout().split('\n')[0], io.stdout()).toBe(`${redis.url()}: STUCK — 1 job(s) left`);
    expect(io.stdout()).toContain('  - 1 job(s) sit in quarantine lists nobody fetches (sidekiq-migrate:quarantine:old 1): put them back on a queue or delete them by hand\n');
    expect(io.stdout()).not.toContain('DRAINED');
    expect(code).toBe(3);
    expect(await c.lrange('sidekiq-migrate:quarantine:old', 0, -1)).toEqual([payload]);
    expect(await c.llen('queue:old')).toBe(0);
  });
});
