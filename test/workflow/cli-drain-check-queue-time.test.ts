import { afterEach, describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { main } from '../../cli/main.js';
import { realTime } from '../../cli/cli-context.js';
import { bufferIo } from '../support/buffer-io.js';
import { latencyProxy } from '../support/latency-proxy.js';
import { privateRedis } from '../support/private-redis.js';

// `drain-check` bounded its looks over the keyspace and its reads of set entries by its time
// (--time-limit, default the deployed function's 120 s), but not its reads of the queues: LLEN and
// LINDEX of every queue, in windows (queue-windows.ts), however long they took. Across a slow
// network, on a Redis of many queues (GitLab's queue per worker, emptied but still in `queues`) or
// of large jobs (a window of one queue each), they outlasted the check's time: the deployed check
// timed out and said nothing, the CLI's ran on past its bound and, the queues being empty, printed
// DRAINED. The queue reads now stop at their share of the time (check-budget.ts): the check ends
// in time, names the queues it did not read, and is never DRAINED over them (exit 1; 3 still wins).
const server = privateRedis();
/** One way through the proxy: a 40 ms round trip, a source across a VPN. */
const ONE_WAY_MS = 20;
let closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.reverse()) await close();
  closers = [];
});

async function slowUrl(): Promise<string> {
  const url = new URL(server.url());
  const proxy = await latencyProxy({ host: url.hostname, port: Number(url.port) }, ONE_WAY_MS);
  closers.push(proxy.close);
  return proxy.url;
}

async function cli(args: string[]) {
  const io = bufferIo();
  const started = Date.now();
  const code = await main(['node', 'sidekiq-migrate', 'drain-check', ...args], io, localTaskHandlers, realTime);
  return { code, stdout: io.stdout(), stderr: io.stderr(), took: Date.now() - started };
}

const queueName = (i: number) => `worker_queue_${String(i).padStart(4, '0')}`;

describe('sidekiq-migrate drain-check across a slow network, queues too many to read in its time', { timeout: 120_000 }, () => {
  it('1,000 queues named in `queues` whose lists are gone (emptied), 10 s: DRAINED well in time, exit 0', async () => {
    // Their lists are not there, so the check reads none of them; its last look at every place at
    // once (one-look.ts) read each queue of `queues` it had not read, one round trip a queue: 1,000
    // × 40 ms, about 45 s past the 10 s, on the way to saying DRAINED. Now one round trip for them all.
    await server.client().sadd('queues', ...Array.from({ length: 1_000 }, (_, i) => queueName(i)));
    const url = await slowUrl();

    const checked = await cli(['--redis', url, '--time-limit', '10']);

    expect(checked.took).toBeLessThan(10_000);
    expect(checked.code).toBe(0);
    expect(checked.stdout.split('\n')[0]).toMatch(/^redis:\/\/127\.0\.0\.1:\d+: DRAINED — 0 job\(s\) left$/);
    expect(checked.stdout).not.toContain('not all read');
  });
});
