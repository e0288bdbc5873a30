import { describe, expect, it } from 'vitest';
import { expectExactJobs, jobEntry, withQueue } from '../support/exact-jobs.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { compatStory } from './support/compat-story.js';
import { assertRealSidekiqInstalled, startSidekiq, waitUntil } from './support/real-sidekiq.js';

/*
 * The verdict of a move and of a re-route while a real Sidekiq with GitLab's reliable fetcher (the
 * gem GitLab runs, Debian's ruby-gitlab-sidekiq-fetcher) works on a job it took from a queue the
 * run empties. The job is in the process's private list `working:queue:NAME:HOST:PID:NONCE`, which
 * no run moves: it finishes there, fails into `retry` there, or, if its worker dies, goes back on
 * its old queue there (the fetcher's clean-up by another process): not where the run puts it.
 *
 * Defect: both ended "Complete: everything that could be moved was moved." over it (exit 0), only
 * naming it under "Needs a look", while a job a live basic-fetch process runs (in no list) ended
 * "Done, but N job(s) are being run by live Sidekiq processes on the source (in no list) …". One
 * rule for both: "Done, but N job(s) are being worked on by live Sidekiq processes on the source
 * (in their fetchers' private lists): LIST N; drain-check tells when they are gone", exit code 0
 * as every "Done, but". The job, named in the process's heartbeat too, is counted once.
 */

const story = compatStory('reliable-fetch-move');
const lastLine = (stdout: string) => stdout.trimEnd().split('\n').at(-1);

describe('move and run while a real Sidekiq with GitLab reliable fetch works on a job of the emptied queue', () => {
  it('ends "Done, but … being worked on … (in their fetchers\' private lists)", exit 0, --json state done-but; every job where it was or moved once', { timeout: 180_000 }, async () => {
    assertRealSidekiqInstalled();
    const source = await story.startRedis();
    const target = await story.startRedis();
    const held = sidekiqPayload({ className: 'PlainJob', queue: 'slow', jid: 'abcdef0123456789abcdef01', args: '[1]' });
    const queued = sidekiqPayload({ className: 'PlainJob', queue: 'slow', jid: 'abcdef0123456789abcdef02', args: '[2]' });
    const later = sidekiqPayload({ className: 'PlainJob', queue: 'slow', jid: 'abcdef0123456789abcdef03', args: '[3]' });
    await source.redis.lpush('queue:slow', held);
    await source.redis.sadd('queues', 'slow');

    const worker = startSidekiq(story.tracker, { redisUrl: source.url, namespace: null }, {
      queues: ['slow'],
      require: 'reliable_fetch_workers.rb',
      outFile: story.file('ran.jsonl'),
      logFile: story.file('sidekiq.log'),
      concurrency: 1,
      jobSeconds: 600,
    });
    // Taken into its private list, and named in its heartbeat (`IDENTITY:workers`) as well.
    await waitUntil(
      'the worker took the job into its working list and its heartbeat names it',
      async () => {
        worker.assertRunning();
        if ((await source.redis.keys('working:queue:slow:*')).length !== 1 || (await source.redis.llen('queue:slow')) !== 0) return false;
        for (const id of await source.redis.smembers('processes')) if (Object.values(await source.redis.hgetall(`${id}:workers`)).some((w) => w.includes('abcdef0123456789abcdef01'))) return true;
        return false;
      },
      { timeoutMs: 30_000, detail: async () => `keys: ${(await source.redis.keys('*')).join(', ')}` },
    );
    const [working] = await source.redis.keys('working:queue:slow:*');
    // Its only thread is busy: a job pushed now waits on the queue.
    await source.redis.lpush('queue:slow', queued);

    const move = await runCli('move', '--from', source.url, '--to', target.url);

    expect(move.code, move.stderr).toBe(0);
    expect(move.stdout).toContain(
      `\n1 job(s) taken from the source's queues are being worked on (${working} 1): one that fails goes to retry, one whose worker dies back on its old queue, both on the source; run again after the last restart (drain-check counts them).\n`,
    );
    expect(move.stdout).not.toContain('in no list');
    const verdict = `Done, but 1 job(s) are being worked on by live Sidekiq processes on the source (in their fetchers' private lists): ${working} 1; drain-check tells when they are gone (see "Needs a look" above).`;
    expect(lastLine(move.stdout)).toBe(verdict);
    await expectExactJobs(source.redis, '', [jobEntry(working!, held)]);
    await expectExactJobs(target.redis, '', [jobEntry('queue:slow', queued)]);

    // The same run again, --json: the same verdict, as its `verdict`.
    const again = await runCli('move', '--from', source.url, '--to', target.url, '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ complete: true, heldByWorkers: { working: 1, abandoned: 0, workingLists: [{ key: working, size: 1 }] }, verdict: { state: 'done-but', line: verdict } });
    expect((JSON.parse(again.stdout) as { heldByWorkers: object }).heldByWorkers).not.toHaveProperty('running');
    await expectExactJobs(source.redis, '', [jobEntry(working!, held)]);
    await expectExactJobs(target.redis, '', [jobEntry('queue:slow', queued)]);

    // A re-route retiring the queue the worker took it from: the same rule, on this Redis.
    await source.redis.lpush('queue:slow', later);
    const run = await runCli('run', '--redis', source.url, '--rename', 'slow=new');

    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(
      `\n1 job(s) taken from retired queues are being worked on (${working} 1): one that fails goes to retry, one whose worker dies back on its old queue; run again after the last restart (drain-check counts them).\n`,
    );
    expect(lastLine(run.stdout)).toBe(
      `Done, but 1 job(s) are being worked on by live Sidekiq processes on this Redis (in their fetchers' private lists): ${working} 1; drain-check tells when they are gone; and 1 of the jobs moved went to queues nobody fetches from (see "Needs a look" above).`,
    );
    await expectExactJobs(source.redis, '', [jobEntry(working!, held), jobEntry('queue:new', withQueue(later, 'slow', 'new'))]);
    await expectExactJobs(target.redis, '', [jobEntry('queue:slow', queued)]);
    worker.assertRunning();
  });
});
