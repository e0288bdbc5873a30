import { describe, expect, it } from 'vitest';
import { runCli } from '../support/run-cli.js';
import { assertRealSidekiqInstalled, readJsonLines, runRuby, startSidekiq, waitUntil, type EnqueuedJob, type Execution, type SidekiqServer } from './support/real-sidekiq.js';
import { compatStory } from './support/compat-story.js';

/*
 * drain-check (and drain-check --classes) and a job a real Sidekiq 6.4 runs with its own (basic) fetch: BRPOP took it off its
 * queue, so it is in no list and no set, but the process's heartbeat records it in Redis, in the
 * hash `HOST:PID:NONCE:workers` (`{"queue","payload","run_at"}` per busy thread; `busy` in the
 * process's hash). The routing runbook with plain Sidekiq (step 6 (c)): a process listens to the
 * retired queue `old` and to `new`, and runs a long job it took from `old` (test/compat/ruby/
 * long_job.rb: it runs until the test opens a gate). The run moves what is queued; the scoped
 * drain check must not say DRAINED over the running job: the next step restarts Sidekiq without
 * `old`, and a job its stop interrupts goes back onto `queue:old`, which nobody fetches then (as
 * one that fails goes to `retry` naming `old`). Once that restart happened, the check says STUCK,
 * the run moves the job, and it runs exactly once.
 *
 * Defect: drain-check said `DRAINED — 0 job(s) left` (exit 0) while the live process's heartbeat
 * said it was running a job fetched from the retired queue, and so did the check of the whole
 * Redis (a Redis move's drain check, before its old workers are stopped). `drain-check --classes
 * LongJob` said `Selected classes: DRAINED — none of their jobs is left` (exit 0) over it.
 */

const { tracker, file, startRedis, once } = compatStory('basic-fetch-drain');

interface Observed {
  readonly longJob: EnqueuedJob;
  readonly identity: string;
  readonly run: Awaited<ReturnType<typeof runCli>>;
  readonly scoped: Awaited<ReturnType<typeof runCli>>;
  readonly whole: Awaited<ReturnType<typeof runCli>>;
  readonly classes: Awaited<ReturnType<typeof runCli>>;
  readonly afterRestart: Awaited<ReturnType<typeof runCli>>;
  readonly again: Awaited<ReturnType<typeof runCli>>;
  /** A check run right after the live process fetched a job, less than a beat after it last beat. */
  readonly justFetched: Awaited<ReturnType<typeof runCli>>;
  readonly secondIdentity: string;
  readonly freshJid: string;
  readonly ran: Execution[];
}

async function story(): Promise<Observed> {
  assertRealSidekiqInstalled();
  const { url, redis } = await startRedis();
  const env = { redisUrl: url, namespace: null };
  await runRuby(tracker, env, 'enqueue.rb', [file('enqueued.jsonl'), 'old', 'long=1', 'plain=3']);
  const [longJob] = readJsonLines<EnqueuedJob>(file('enqueued.jsonl')).filter((j) => j.kind === 'long');
  const servers: SidekiqServer[] = [];
  try {
    const first = startSidekiq(tracker, env, { queues: ['old', 'new'], require: 'long_job.rb', outFile: file('ran.jsonl'), logFile: file('first.log'), concurrency: 2 });
    servers.push(first);
    let identity = '';
    await waitUntil(
      'the process runs the long job, its heartbeat says so, and the plain jobs ran',
      async () => {
        first.assertRunning();
        for (const id of await redis.smembers('processes')) {
          const busy = Object.values(await redis.hgetall(`${id}:workers`));
          if (busy.some((w) => w.includes(longJob!.jid))) identity = id;
        }
        return identity !== '' && readJsonLines<Execution>(file('ran.jsonl')).length === 3;
      },
      { timeoutMs: 30_000 },
    );

    const run = await runCli('run', '--redis', url, '--rename', 'old=new');
    const scoped = await runCli('drain-check', '--redis', url, '--retired-queues', 'old');
    const whole = await runCli('drain-check', '--redis', url);
    // A class-selective check of the running job's class (as after `move --classes LongJob`).
    const classes = await runCli('drain-check', '--redis', url, '--classes', 'LongJob');

    // Step 6: listen to the new queue only. The stop interrupts the long job at its timeout (5 s).
    await first.stop();
    const second = startSidekiq(tracker, env, { queues: ['new'], require: 'long_job.rb', outFile: file('ran.jsonl'), logFile: file('second.log'), concurrency: 2 });
    servers.push(second);
    await waitUntil('the new process beats', async () => (await redis.scard('processes')) === 1, { timeoutMs: 30_000 });
    const afterRestart = await runCli('drain-check', '--redis', url, '--retired-queues', 'old');
    const again = await runCli('run', '--redis', url, '--rename', 'old=new');
    await redis.set('harness:gate', '1');
    await waitUntil('the long job ran', () => readJsonLines<Execution>(file('ran.jsonl')).length === 4, { timeoutMs: 30_000 });

    // A job fetched less than a beat before the check: in no list, and not in the heartbeat until
    // the process's next beat (every 5 s). Pushed just after a beat, the check starts at once.
    const [secondIdentity] = await redis.smembers('processes');
    await redis.del('harness:gate');
    const beatOf = () => redis.hget(secondIdentity!, 'beat');
    const lastBeat = await beatOf();
    await waitUntil('the process beats', async () => (await beatOf()) !== lastBeat, { timeoutMs: 30_000, intervalMs: 20 });
    const freshJid = 'f7e5d0c1b2a3f4e5d6c7b8a9';
    await redis.lpush('queue:new', JSON.stringify({ class: 'LongJob', queue: 'new', args: ['fresh'], retry: true, jid: freshJid, created_at: Date.now() / 1000, enqueued_at: Date.now() / 1000 }));
    await waitUntil('the process fetched it', async () => (await redis.llen('queue:new')) === 0, { timeoutMs: 5_000, intervalMs: 10 });
    const justFetched = await runCli('drain-check', '--redis', url);
    await redis.set('harness:gate', '1');
    await waitUntil('the fresh job ran', () => readJsonLines<Execution>(file('ran.jsonl')).length === 5, { timeoutMs: 30_000 });
    await second.stop();
    return { longJob: longJob!, identity, run, scoped, whole, classes, afterRestart, again, justFetched, secondIdentity: secondIdentity!, freshJid, ran: readJsonLines<Execution>(file('ran.jsonl')) };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

const seen = once(story);

describe('drain-check while a real Sidekiq with its own fetch runs a job from a retired queue', () => {
  it('is not DRAINED: the scoped check and the whole-Redis check name the job the live process runs', { timeout: 120_000 }, async () => {
    const { run, scoped, whole, identity } = await seen();

    expect(run.code, run.stderr).toBe(0);
    expect(scoped.code, scoped.stderr).toBe(0);
    expect(scoped.stdout).toMatch(/^redis:\/\/\S+: DRAINING — 1 job\(s\) left of the 1 retired queue\(s\) only/);
    expect(scoped.stdout).toContain(`  - 1 job(s) taken from retired queues are being run by live Sidekiq processes (${identity} 1), in no list: one that fails goes to retry naming its queue; one whose process is stopped (TERM) first goes back on its queue on this Redis; one whose process is killed (KILL, out of memory) is lost, as Sidekiq's own fetch keeps it nowhere else\n`);
    expect(whole.code, whole.stderr).toBe(0);
    expect(whole.stdout).toMatch(/^redis:\/\/\S+: DRAINING — 1 job\(s\) left\n/);
    expect(whole.stdout).toContain(`  - 1 job(s) taken from this Redis's queues are being run by live Sidekiq processes (${identity} 1), in no list: one that fails goes to retry naming its queue; one whose process is stopped (TERM) first goes back on its queue on this Redis; one whose process is killed (KILL, out of memory) is lost, as Sidekiq's own fetch keeps it nowhere else\n`);
  });

  it('drain-check --classes of its class is not DRAINED either: it counts the running job as held by a live worker (exit 1)', { timeout: 120_000 }, async () => {
    const { classes } = await seen();

    expect(classes.code, classes.stderr).toBe(1);
    expect(classes.stdout).toMatch(/^ {2}LongJob +1 {2}running \(live processes\) 1$/m);
    expect(classes.stdout).toMatch(
      /^Selected classes: NOT DRAINED — 1 job\(s\) left on redis:\/\/\S+\. 1 of them are held by live workers \(in their private lists, or running where only their heartbeat shows them\): being worked now, they finish there \(or go back to their queue if the worker dies\); a move does not take them, so wait, then check again\.$/m,
    );
  });

  it('once the restart put it back on the retired queue: STUCK (exit 3); the run moves it and it runs exactly once, on new', { timeout: 120_000 }, async () => {
    const { afterRestart, again, ran, longJob } = await seen();

    expect(afterRestart.code).toBe(3);
    expect(afterRestart.stdout).toMatch(/^redis:\/\/\S+: STUCK — 1 job\(s\) left of the 1 retired queue\(s\) only/);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^total +1 +1 +0$/m);
    expect(ran.filter((e) => e.jid === longJob.jid)).toMatchObject([{ fetched_queue: 'new', payload_queue: 'new', args_json: longJob.args_json }]);
  });

  it('a job fetched less than a beat before the check: it waits for the process to beat twice and counts it, never DRAINED', { timeout: 120_000 }, async () => {
    const { justFetched, secondIdentity, freshJid, ran } = await seen();

    expect(justFetched.code, justFetched.stderr).toBe(0);
    expect(justFetched.stdout).toMatch(/^redis:\/\/\S+: DRAINING — 1 job\(s\) left\n/);
    expect(justFetched.stdout).toContain(`  - 1 job(s) taken from this Redis's queues are being run by live Sidekiq processes (${secondIdentity} 1), in no list: one that fails goes to retry naming its queue; one whose process is stopped (TERM) first goes back on its queue on this Redis; one whose process is killed (KILL, out of memory) is lost, as Sidekiq's own fetch keeps it nowhere else\n`);
    expect(justFetched.stderr).toMatch(/^Nothing left in lists and sets; waiting up to \d+ s for the 1 live Sidekiq process\(es\) to beat twice: /m);
    expect(ran.filter((e) => e.jid === freshJid)).toMatchObject([{ fetched_queue: 'new', args_json: '["fresh"]' }]);
  });
});
