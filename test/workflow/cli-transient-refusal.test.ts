// A Redis that refuses writes for now (min-replicas-to-write with its replica gone: NOREPLICAS)
// when `run` starts, as the shipped CLI meets it: the plan's retries used to pass in silence (two
// minutes), then print Redis's bare reply. Now the first refusal is said at once, in words, with
// the retries to come; once the replica is back the run finishes, every job moved exactly once.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoPath } from '../support/paths.js';
import { privateRedis } from '../support/private-redis.js';
import { allJobs } from '../support/redis-snapshot.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateRedis();

/** The CLI as a child process; `onStderr` sees stderr as it grows. */
function cli(args: string[], onStderr: (stderr: string) => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [repoPath('bin/sidekiq-migrate.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let [stdout, stderr] = ['', ''];
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => onStderr((stderr += chunk.toString())));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('a Redis refusing writes while its replica is away (NOREPLICAS)', () => {
  it('says so at the first refusal, with the retries to come, and finishes once writes are accepted again', { timeout: 60_000 }, async () => {
    const client = redis.client();
    const queued = [0, 1, 2].map((i) => sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]` }));
    const scheduled = sidekiqPayload({ className: 'A', queue: 'default', args: '[3]' });
    await client.lpush('queue:default', ...queued);
    await client.zadd('schedule', '1795459303', scheduled);
    await client.sadd('queues', 'default');
    await client.config('SET', 'min-replicas-to-write', '1');

    let restored = false;
    const result = await cli(['run', '--redis', redis.url(), '--rename', 'default=other'], (stderr) => {
      if (!restored && stderr.includes('Transient:')) {
        restored = true;
        void client.config('SET', 'min-replicas-to-write', '0');
      }
    }).finally(() => client.config('SET', 'min-replicas-to-write', '0'));

    const refusal =
      'Plan migration: Taking the run lock on source ' +
      redis.url() +
      ': the server refuses writes while fewer replicas than its min-replicas-to-write are connected and in sync (NOREPLICAS Not enough good replicas to write.';
    expect(result.stderr).toContain(refusal);
    expect(result.stderr).toContain(')\n  Transient: the state machine retries this step (at most 6 times, about 2 min in all)\n');
    // Said once, however many attempts it took.
    expect(result.stderr.split('Transient:').length).toBe(2);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/\nComplete: everything that could be moved was moved\.\n$/);

    const expected = [
      ...queued.map((p) => `queue:other - ${p.replace('"queue":"default"', '"queue":"other"')}`),
      `schedule 1795459303 ${scheduled.replace('"queue":"default"', '"queue":"other"')}`,
    ].sort();
    const after = (await allJobs(client, '')).map((j) => `${j.key} ${j.score ?? '-'} ${j.payload}`).sort();
    expect(after).toEqual(expected);
  });
});
