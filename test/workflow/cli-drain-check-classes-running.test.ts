import { afterEach, describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { beatingProcess, type BeatingProcess } from '../support/beating-process.js';
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
  await heartbeat(c, keys, identity, ['default', 'mailers'], { beatAt: Date.now() / 1000, beating: false });
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

// A job of a selected class fetched less than a beat before the count: in no list, and not yet in
// the heartbeat (written at each beat from a copy taken just before; the scripted process writes
// the copy of the beat before, the worst case). Another class's job keeps the whole Redis from
// being drained, so only the selection's own wait can find it.
const processes: BeatingProcess[] = [];
afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.stop()));
});

async function justAfterABeat(p: BeatingProcess): Promise<void> {
  const seen = p.beats();
  while (p.beats() === seen) await new Promise((resolve) => setTimeout(resolve, 10));
}

const WAITING = /^No job of the selected classes found; waiting up to \d+ s for the 1 live Sidekiq process\(es\) to beat twice: a job one fetched less than a beat ago is in no list and shows only in its next heartbeat\.$/m;

describe('drain-check --classes and a job of a selected class fetched less than a beat ago', { timeout: 90_000 }, () => {
  it('waits for two beats and counts it: NOT DRAINED; with nothing running, DRAINED after the wait', async () => {
    const c = redis.client();
    const job = sidekiqPayload({ className: 'MovingWorker', queue: 'default' });
    await c.sadd('queues', 'default');
    await c.lpush('queue:default', job, sidekiqPayload({ className: 'StayingWorker', queue: 'default' }));
    const p = beatingProcess(c, keys, 'web-2:5:eeeeeeeeeeee', ['default'], { everyMs: 1000, lag: 1 });
    processes.push(p);
    await justAfterABeat(p);
    expect(await c.rpop('queue:default')).toBe(job);
    p.take('default', job);

    const fresh = await runCli('drain-check', '--redis', redis.url(), '--classes', 'MovingWorker');
    const other = await runCli('drain-check', '--redis', redis.url(), '--classes', 'NeverEnqueuedWorker');

    expect(fresh.code, fresh.stderr).toBe(1);
    expect(fresh.stderr).toMatch(WAITING);
    expect(fresh.stdout).toContain(`Selected classes: NOT DRAINED — 1 job(s) left on ${redis.url()}. 1 of them are held by live workers`);
    expect(other.code, other.stderr).toBe(0);
    expect(other.stderr).toMatch(WAITING);
    expect(other.stdout).toContain(`Selected classes: DRAINED — none of their jobs is left on ${redis.url()}.\n`);
  });

  it('is NOT YET SURE (exit 1) when a live process does not beat twice within --time-limit', async () => {
    const c = redis.client();
    await c.sadd('queues', 'default');
    await c.lpush('queue:default', sidekiqPayload({ className: 'StayingWorker', queue: 'default' }));
    await heartbeat(c, keys, 'web-2:6:ffffffffffff', ['default'], { beatAt: Date.now() / 1000 - 2, beating: false });

    const late = await runCli('drain-check', '--redis', redis.url(), '--classes', 'MovingWorker', '--time-limit', '4', '--json');

    expect(late.code, late.stderr).toBe(1);
    expect(late.stderr).toMatch(WAITING);
    expect(JSON.parse(late.stdout)).toMatchObject({ selection: { left: 0, drained: false, unsure: ['web-2:6:ffffffffffff'], unsureCount: 1 } });
    const human = await runCli('drain-check', '--redis', redis.url(), '--classes', 'MovingWorker', '--time-limit', '4');
    expect(human.stdout).toContain(
      `Selected classes: NOT YET SURE — none of their jobs found on ${redis.url()}, but 1 live Sidekiq process(es) did not beat twice while the check waited, or stopped or started meanwhile (web-2:6:ffffffffffff): a job one fetched less than a beat (5–10 s) before is in no list and not yet in its heartbeat; check again.\n`,
    );
  });
});
