import { describe, expect, it } from 'vitest';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { assertRealSidekiqInstalled, readJsonLines, startSidekiq, waitUntil, type Execution } from './support/real-sidekiq.js';
import { compatStory } from './support/compat-story.js';
import { runCli } from '../support/run-cli.js';

/*
 * What drain-check says of jobs that real workers took with GitLab's reliable fetcher (the gem
 * GitLab runs, Debian's ruby-gitlab-sidekiq-fetcher) and did not finish. A fetched job is in no
 * queue and no set: it waits in the process's working list `working:queue:NAME:HOST:PID:NONCE`,
 * and goes back to `queue:NAME` on this Redis if the process dies, put there by the cleanup of
 * another process of the same fetcher. Neither a re-route nor a transfer carries it. So a check
 * that called such a Redis drained would send an operator to switch it off with jobs in it.
 *
 * The story: a real Sidekiq takes a long job; the check says DRAINING and names it. The process
 * is killed (SIGKILL: no requeue on the way out) and its heartbeats expire (deleted here, as 60 s
 * would): with no live process left, the check says STUCK, exit 3, and names the working list.
 * A new Sidekiq with the same fetcher then puts the job back and runs it (its cleanup lease,
 * held for an hour by the first process, is deleted here as an hour would): the check says
 * DRAINED, and the job ran exactly once.
 */

const story = compatStory('reliable-fetch');
const cli = runCli;

describe('drain-check and the jobs real workers took with GitLab reliable fetcher', () => {
  it('says DRAINING while a live worker holds a job, STUCK once its worker is gone, DRAINED once it is back and ran', { timeout: 120_000 }, async () => {
    assertRealSidekiqInstalled();
    const { url, redis } = await story.startRedis();
    const env = { redisUrl: url, namespace: null };
    const payload = sidekiqPayload({ className: 'PlainJob', queue: 'slow', jid: 'abcdef0123456789abcdef01', args: '[1]' });
    await redis.lpush('queue:slow', payload);

    const slow = startSidekiq(story.tracker, env, {
      queues: ['slow'],
      require: 'reliable_fetch_workers.rb',
      outFile: story.file('first.jsonl'),
      logFile: story.file('first.log'),
      concurrency: 1,
      jobSeconds: 600,
    });
    await waitUntil('the worker took the job into its working list', async () => (await redis.keys('working:queue:slow:*')).length === 1 && (await redis.llen('queue:slow')) === 0, {
      timeoutMs: 30_000,
      detail: async () => `keys: ${(await redis.keys('*')).join(', ')}`,
    });
    const [working] = await redis.keys('working:queue:slow:*');
    expect(await redis.lrange(working!, 0, -1)).toEqual([payload]);

    const busy = await cli('drain-check', '--redis', url);
    expect(busy.code).toBe(0);
    expect(busy.stdout).toMatch(/^redis:\/\/\S+: DRAINING — 1 job\(s\) left\n/);
    expect(busy.stdout).toContain('  - 1 job(s) are being worked on by live processes: they finish here, or fail into retry on this Redis\n');
    expect(busy.stdout).toContain(`Taken by workers, not finished (fetchers' private lists; they go back to their queue here if the worker dies):\n  ${working}: 1 job(s), worker alive\n`);
    const json = JSON.parse((await cli('drain-check', '--redis', url, '--json')).stdout) as { remaining: number; fetched: unknown[] };
    expect(json.remaining).toBe(1);
    expect(json.fetched).toEqual([{ key: working, queue: 'slow', owner: working!.slice('working:queue:slow:'.length), fetcher: 'reliable-fetch', ownerAlive: true, size: 1 }]);

    // The worker dies mid-job, and its heartbeats expire.
    process.kill(slow.pid, 'SIGKILL');
    await waitUntil('the killed worker is gone', () => !isAlive(slow.pid), { timeoutMs: 10_000 });
    for (const key of [...(await redis.keys('reliable-fetcher-heartbeat-*')), ...(await redis.smembers('processes'))]) await redis.del(key);
    expect(await redis.lrange(working!, 0, -1)).toEqual([payload]);

    const gone = await cli('drain-check', '--redis', url);
    expect(gone.code).toBe(3);
    expect(gone.stdout).toMatch(/^redis:\/\/\S+: STUCK — 1 job\(s\) left\n/);
    expect(gone.stdout).toContain(
      `  - 1 job(s) sit in the private lists of workers that are gone (${working} 1), and no live Sidekiq process is here to put them back: start one with the same fetcher against this Redis (it returns them to their queues, GitLab's within the hour), then move them\n`,
    );
    expect(gone.stdout).toContain(`  ${working}: 1 job(s), worker gone\n`);

    // What the advice says: a process with the same fetcher puts the job back, and runs it.
    await redis.del('reliable-fetcher-cleanup-lock');
    const next = startSidekiq(story.tracker, env, { queues: ['slow'], require: 'reliable_fetch_workers.rb', outFile: story.file('second.jsonl'), logFile: story.file('second.log') });
    await waitUntil('the job ran on the second worker', () => readJsonLines<Execution>(story.file('second.jsonl')).length === 1, { timeoutMs: 60_000 });
    await waitUntil('the second worker acknowledged it', async () => (await redis.keys('working:queue:*')).length === 0, { timeoutMs: 10_000 });
    next.assertRunning();

    const drained = await cli('drain-check', '--redis', url);
    expect(drained.code).toBe(0);
    expect(drained.stdout).toMatch(/^redis:\/\/\S+: DRAINED — 0 job\(s\) left\n/);
    expect(readJsonLines<Execution>(story.file('second.jsonl')).map((e) => e.jid)).toEqual(['abcdef0123456789abcdef01']);
    expect(readJsonLines<Execution>(story.file('first.jsonl'))).toEqual([]);
    await next.stop();
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
