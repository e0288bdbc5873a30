import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { captureOutput, fakeContext, logRecords } from './support/lambda-harness.js';
import { lambdaOnOwnServers } from './support/lambda-on-own-servers.js';
import { runToSummary, summarizeInput } from './support/run-workflow.js';

// The deployed summarize function's log line said "run complete" while a live Sidekiq with its own
// (basic) fetch still ran jobs of the emptied queues: BRPOP took them, they are in no list and only
// the process's heartbeat (`IDENTITY:workers`) shows them. The CLI's summary says "Done, but …
// being run by live Sidekiq processes"; the log line says so too, as counts (no identities, no jobs).
const lambda = lambdaOnOwnServers({ targetArgs: false });
const IDENTITY = 'web-1:4242:0a1b2c3d4e5f';

// Jobs in the fetcher's private list of a live worker (GitLab's reliable fetcher) are not done
// either (one whose worker dies goes back on the old queue): the same rule, the same line.
const WORKING = 'working:queue:old:web-1:4242:0a1b2c3d4e5f';

async function runLine(runId: string, runningJobs: readonly string[], inPrivateList: readonly string[] = []): Promise<Record<string, unknown> | undefined> {
  const { h, source: redis } = lambda;
  await redis.flushall();
  await redis.rpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old' }));
  await redis.sadd('queues', 'old');
  if (inPrivateList.length > 0) {
    await redis.rpush(WORKING, ...inPrivateList);
    await redis.set('reliable-fetcher-heartbeat-web-1-4242-0a1b2c3d4e5f', '1', 'EX', 60);
  }
  await heartbeat(redis, new SidekiqKeys(''), IDENTITY, ['old'], { beatAt: Date.now() / 1000, beating: false });
  for (const [i, payload] of runningJobs.entries()) await redis.hset(`${IDENTITY}:workers`, `tid${i}`, JSON.stringify({ queue: 'old', payload, run_at: Math.floor(Date.now() / 1000) }));
  const run = await runToSummary(h, { runId, mode: 'reroute', sets: ['schedule'], routing: { kind: 'renames', renames: { old: 'new' } } });
  const out = captureOutput();
  try {
    await h.summarize(summarizeInput(run), fakeContext());
  } finally {
    out.stop();
  }
  return logRecords(out.records()).find((r) => /^run /.test(String(r['message'])));
}

describe('the summarize handler while live processes run jobs of the emptied queues (in no list, or in their private lists)', { timeout: 120_000 }, () => {
  it("never logs 'run complete': says them as counts, without job data or identities", async () => {
    const secret = '["s3cr3t-arg"]';
    const line = await runLine('running-1', [sidekiqPayload({ className: 'A', queue: 'old', args: secret }), sidekiqPayload({ className: 'B', queue: 'old' })]);
    expect(line).toMatchObject({
      message: 'run done, but live Sidekiq processes run jobs of its queues, in no list (drain-check tells when they are gone)',
      complete: true,
      runningInNoList: ['2 being run by live Sidekiq processes on this Redis (in no list)'],
    });
    expect(line).not.toHaveProperty('leftBehind');
    expect(JSON.stringify(line)).not.toContain('s3cr3t-arg');
    expect(JSON.stringify(line)).not.toContain(IDENTITY);
    expect(await lambda.source.lrange('queue:new', 0, -1)).toHaveLength(1);
  });

  it("a live worker's private list: never 'run complete'; counted, without job data or list names", async () => {
    const secret = '["s3cr3t-arg"]';
    const held = sidekiqPayload({ className: 'A', queue: 'old', args: secret });
    const line = await runLine('running-3', [], [held]);
    expect(line).toMatchObject({
      message: "run done, but live Sidekiq processes run jobs of its queues, in their fetchers' private lists (drain-check tells when they are gone)",
      complete: true,
      workingInPrivateLists: ["1 being worked on by live Sidekiq processes on this Redis (in their fetchers' private lists)"],
    });
    expect(line).not.toHaveProperty('runningInNoList');
    expect(line).not.toHaveProperty('leftBehind');
    expect(JSON.stringify(line)).not.toContain('s3cr3t-arg');
    expect(JSON.stringify(line)).not.toContain(WORKING);
    expect(await lambda.source.lrange(WORKING, 0, -1)).toEqual([held]);
    expect(await lambda.source.lrange('queue:new', 0, -1)).toHaveLength(1);
  });

  it("both (the list's job in the heartbeat too, counted once): one line names both", async () => {
    const held = sidekiqPayload({ className: 'A', queue: 'old', args: '[7]' });
    const line = await runLine('running-4', [held, sidekiqPayload({ className: 'B', queue: 'old' })], [held]);
    expect(line).toMatchObject({
      message: "run done, but live Sidekiq processes run jobs of its queues, in their fetchers' private lists and in no list (drain-check tells when they are gone)",
      complete: true,
      workingInPrivateLists: ["1 being worked on by live Sidekiq processes on this Redis (in their fetchers' private lists)"],
      runningInNoList: ['1 being run by live Sidekiq processes on this Redis (in no list)'],
    });
  });

  it("a process not heard from for several beats (killed, its heartbeat not yet expired): its list's jobs are not said being worked on; never 'run complete'", async () => {
    // As a killed Sidekiq 6.4 process leaves its heartbeat 20 s after its last beat (the hash's expiry 38 s away).
    const { h, source: redis } = lambda;
    await redis.flushall();
    await redis.rpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old' }));
    await redis.sadd('queues', 'old');
    const held = sidekiqPayload({ className: 'A', queue: 'old', args: '[9]' });
    await redis.rpush(WORKING, held);
    await redis.set('reliable-fetcher-heartbeat-web-1-4242-0a1b2c3d4e5f', '1', 'EX', 60);
    const beatAt = Date.now() / 1000 - 20;
    await redis.sadd('processes', IDENTITY);
    await redis.hset(IDENTITY, 'info', JSON.stringify({ hostname: 'web-1', pid: 4242, queues: ['old'], identity: IDENTITY }), 'beat', String(beatAt), 'quiet', 'false', 'busy', '1');
    await redis.expire(IDENTITY, 38);
    const run = await runToSummary(h, { runId: 'running-5', mode: 'reroute', sets: ['schedule'], routing: { kind: 'renames', renames: { old: 'new' } } });
    const out = captureOutput();
    try {
      await h.summarize(summarizeInput(run), fakeContext());
    } finally {
      out.stop();
    }
    const line = logRecords(out.records()).find((r) => /^run /.test(String(r['message'])));
    expect(line).toMatchObject({
      message: 'run done, but Sidekiq processes not heard from for several beats, which may have been killed, hold jobs of its queues (drain-check tells when they are gone)',
      complete: true,
      notHeardFrom: ['1 held by Sidekiq processes on this Redis not heard from for more than 3 beats, which may have been killed'],
    });
    expect(line).not.toHaveProperty('workingInPrivateLists');
    expect(line).not.toHaveProperty('runningInNoList');
    expect(JSON.stringify(line)).not.toContain(IDENTITY);
    expect(JSON.stringify(line)).not.toContain(WORKING);
    expect(await redis.lrange(WORKING, 0, -1)).toEqual([held]);
    expect(await redis.lrange('queue:new', 0, -1)).toHaveLength(1);
  });

  it("a live process running nothing: 'run complete', but the queue the jobs went to is one it does not fetch from (as the CLI's 'Complete: …, but')", async () => {
    const line = await runLine('running-2', []);
    // The process listens to `old` only; the rename sent the job to `new`.
    expect(line).toMatchObject({ message: 'run complete, but some went to queues nobody fetches from', complete: true, unheardQueues: { queues: 1, jobs: 1 } });
    expect(line).not.toHaveProperty('runningInNoList');
  });
});
