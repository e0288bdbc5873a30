import { describe, expect, it } from 'vitest';
import { runCli } from '../support/run-cli.js';
import { compatStory } from './support/compat-story.js';
import { assertRealSidekiqInstalled, readJsonLines, runRuby, startSidekiq, waitUntil, type EnqueuedJob } from './support/real-sidekiq.js';

/*
 * A real Sidekiq 6.4 with its own (basic) fetch runs a long job and is killed (SIGKILL: out of
 * memory, a pod past its grace period), as the Redis move runbook's step 6 warns can happen. Its
 * heartbeat lives on for up to 60 s, naming the job, so drain-check counts the job as run by a
 * live process. But the job is nowhere in Redis any more: BRPOP took it off its queue, and only a
 * graceful stop (TERM) pushes an unfinished job back. Sidekiq lost it.
 *
 * Defect: the check said of such a job "one whose process stops first goes back on its queue on
 * this Redis", true of a TERM only; an operator who then killed the process (or whose pod was
 * killed) was told the job would come back, and the next check said DRAINED over its loss.
 */

const { tracker, file, startRedis, once } = compatStory('basic-fetch-killed');

async function story() {
  assertRealSidekiqInstalled();
  const { url, redis } = await startRedis();
  const env = { redisUrl: url, namespace: null };
  await runRuby(tracker, env, 'enqueue.rb', [file('enqueued.jsonl'), 'old', 'long=1']);
  const [longJob] = readJsonLines<EnqueuedJob>(file('enqueued.jsonl'));
  const server = startSidekiq(tracker, env, { queues: ['old'], require: 'long_job.rb', outFile: file('ran.jsonl'), logFile: file('sidekiq.log'), concurrency: 1 });
  let identity = '';
  await waitUntil(
    'the process runs the long job and its heartbeat says so',
    async () => {
      server.assertRunning();
      for (const id of await redis.smembers('processes')) {
        if (Object.values(await redis.hgetall(`${id}:workers`)).some((w) => w.includes(longJob!.jid))) identity = id;
      }
      return identity !== '';
    },
    { timeoutMs: 30_000 },
  );
  const beforeKill = await runCli('drain-check', '--redis', url);
  process.kill(server.pid, 'SIGKILL'); // by its pid
  await waitUntil('the killed process is gone', () => {
    try {
      process.kill(server.pid, 0);
      return false;
    } catch {
      return true;
    }
  }, { timeoutMs: 10_000 });
  const afterKill = await runCli('drain-check', '--redis', url);
  const queued = await redis.llen('queue:old');
  const heartbeat = await redis.exists(`${identity}:workers`);
  return { identity, beforeKill, afterKill, queued, heartbeat };
}

const seen = once(story);

describe('drain-check while a real Sidekiq with its own fetch that runs a job is killed', () => {
  it('says that a kill loses the job (Sidekiq keeps it in no list), not that it comes back: the queue is empty after the kill', { timeout: 120_000 }, async () => {
    const { identity, beforeKill, afterKill, queued, heartbeat } = await seen();
    const line = `  - 1 job(s) taken from this Redis's queues are being run by live Sidekiq processes (${identity} 1), in no list: one that fails goes to retry naming its queue; one whose process is stopped (TERM) first goes back on its queue on this Redis; one whose process is killed (KILL, out of memory) is lost, as Sidekiq's own fetch keeps it nowhere else\n`;
    expect(beforeKill.code, beforeKill.stderr).toBe(0);
    expect(beforeKill.stdout).toContain(line);
    // The kill: the heartbeat still names the job for up to 60 s, but Redis holds it nowhere.
    expect(heartbeat).toBe(1);
    expect(queued).toBe(0);
    expect(afterKill.code, afterKill.stderr).toBe(0);
    expect(afterKill.stdout).toMatch(/^redis:\/\/\S+: DRAINING — 1 job\(s\) left\n/);
    expect(afterKill.stdout).toContain(line);
    expect(afterKill.stdout).not.toContain('one whose process stops first goes back on its queue');
  });
});
