import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// `drain-check --classes` after a class-selective move: a live Sidekiq with its own (basic) fetch
// runs a job of a moved class. BRPOP took it off its queue, so only the process's heartbeat hash
// (`IDENTITY:workers`, Sidekiq 6.4: `{"queue","payload":"<job JSON>","run_at"}` per busy thread)
// holds it; one that fails goes to `retry` on this Redis, one whose process stops goes back onto its
// queue here. The check said "Selected classes: DRAINED — none of their jobs is left", exit 0.
const redis = privateRedis();
const keys = new SidekiqKeys('');
const identity = 'web-1:4242:0a1b2c3d4e5f';

async function running(payloads: readonly string[]): Promise<void> {
  const c = redis.client();
  await heartbeat(c, keys, identity, ['default', 'mailers'], { beatAt: Date.now() / 1000 });
  await c.sadd('queues', 'default', 'mailers');
  for (const [i, payload] of payloads.entries()) {
    const queue = (JSON.parse(payload) as { queue: string }).queue;
    await c.hset(`${identity}:workers`, `tid${i}`, JSON.stringify({ queue, payload, run_at: Math.floor(Date.now() / 1000) }));
  }
  await c.expire(`${identity}:workers`, 60);
}

describe('drain-check --classes while a live process runs a job of a selected class (basic fetch)', { timeout: 60_000 }, () => {
  it('counts it, plain and ActiveJob-wrapped, as held by live workers: NOT DRAINED, exit 1', async () => {
    await running([
      sidekiqPayload({ className: 'MovingWorker', queue: 'default' }),
      sidekiqPayload({ className: 'ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper', wrapped: 'MovedMailerJob', queue: 'mailers' }),
      sidekiqPayload({ className: 'StayingWorker', queue: 'default' }),
    ]);

    const human = await runCli('drain-check', '--redis', redis.url(), '--classes', 'MovingWorker,MovedMailerJob');
    const json = await runCli('drain-check', '--redis', redis.url(), '--classes', 'MovingWorker,MovedMailerJob', '--json');

    expect(human.code, human.stderr).toBe(1);
    expect(human.stdout).toContain(
      `Selected classes: NOT DRAINED — 2 job(s) left on ${redis.url()}. 2 of them are held by live workers (in their private lists, or running where only their heartbeat shows them): being worked now, they finish there (or go back to their queue if the worker dies); a move does not take them, so wait, then check again.\n`,
    );
    expect(human.stdout).toMatch(/^ {2}running \(live processes\) +2$/m);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      remaining: 3,
      selection: { left: 2, working: 2, drained: false, byClass: { MovingWorker: { 'running (live processes)': 1 }, MovedMailerJob: { 'running (live processes)': 1 } } },
    });
  });
});
