// Sidekiq 8 payloads (millisecond timestamps, Sidekiq::ActiveJob::Wrapper; written from its
// source, see test/fixtures/sidekiq-8-payloads/README.md) through every operation a user runs:
// re-route, transfer, drain-check. Bytes preserved but for the queue values.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoPath } from '../support/paths.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { allJobs } from '../support/redis-snapshot.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { runCli } from '../support/run-cli.js';

const redis = privateSourceAndTarget();
const dir = mkdtempSync(join(tmpdir(), 'sidekiq-8-'));
const fixture = (file: string) => repoPath(`test/fixtures/sidekiq-8-payloads/${file}`);
const placed = readFileSync(fixture('index.txt'), 'utf8')
  .trim()
  .split('\n')
  .map((line) => {
    const [file, key, score] = line.split(' ') as [string, string, string];
    return { key, payload: readFileSync(fixture(file), 'utf8'), ...(score === '-' ? {} : { score }) };
  });

const cli = runCli;
const sorted = (jobs: { key: string; payload: string; score?: string }[]) => jobs.map((j) => `${j.key} ${j.score ?? '-'} ${j.payload}`).sort();

async function seed(): Promise<void> {
  for (const job of placed) {
    if (job.score === undefined) await redis.source().lpush(job.key, job.payload);
    else await redis.source().zadd(job.key, job.score, job.payload);
  }
}

describe('Sidekiq 8 payloads', () => {
  it('are re-routed, transferred and drain-checked with only their queue values changed', async () => {
    await seed();
    const mapping = join(dir, 'mapping.json');
    writeFileSync(mapping, JSON.stringify({ PlainJob: 'work', FlakyJob: 'work', ReportJob: 'reports', 'ActionMailer::MailDeliveryJob': 'mail' }));

    const rerouted = await cli('run', '--redis', redis.urls().source, '--mapping', mapping, '--json');

    expect(rerouted.code).toBe(0);
    expect(JSON.parse(rerouted.stdout).totals).toMatchObject({ moved: 6, unparsable: 0, unmapped: 0 });
    const destination: Record<string, string> = { PlainJob: 'work', FlakyJob: 'work', ReportJob: 'reports', 'ActionMailer::MailDeliveryJob': 'mail' };
    const expected = placed.map((job) => {
      const cls = /"wrapped":"([^"]+)"/.exec(job.payload)?.[1] ?? /"class":"([^"]+)"/.exec(job.payload)![1]!;
      const to = destination[cls]!;
      const payload = job.payload.replace(/"queue":"[^"]+"/, `"queue":"${to}"`).replace(/"queue_name":"[^"]+"/, `"queue_name":"${to}"`);
      return { key: job.key.startsWith('queue:') ? `queue:${to}` : job.key, payload, ...(job.score === undefined ? {} : { score: job.score }) };
    });
    const jobsOnly = async (which: 'source' | 'target') => (await allJobs(redis[which](), '')).filter((j) => !j.key.startsWith('sidekiq-migrate:'));
    expect(sorted(await jobsOnly('source'))).toEqual(sorted(expected));

    const moved = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--json');

    expect(moved.code).toBe(0);
    expect(sorted(await jobsOnly('target'))).toEqual(sorted(expected));
    expect(await jobsOnly('source')).toEqual([]);

    // The millisecond enqueued_at of Sidekiq 8 read as milliseconds: ages of days, not of 1000× that.
    const keys = new SidekiqKeys('');
    const capsules = readFileSync(repoPath('test/fixtures/sidekiq-heartbeats/capsules-only-info.json'), 'utf8')
      .trim()
      .replace('{"critical":0,"default":0}', '{"work":0,"mail":0,"reports":0}');
    await heartbeat(redis.target(), keys, 'vm:12992:2c2a7bf43670', [], { beatAt: Date.now() / 1000, info: capsules });
    const check = await cli('drain-check', '--redis', redis.urls().target, '--json');

    const report = JSON.parse(check.stdout);
    const ages = Object.fromEntries(report.queues.map((q: { queue: string; oldestAgeSeconds: number }) => [q.queue, q.oldestAgeSeconds]));
    const expectedAge = (ms: number) => Date.now() / 1000 - ms / 1000;
    expect(ages['work']).toBeCloseTo(expectedAge(1795459303847), -1);
    expect(ages['mail']).toBeCloseTo(expectedAge(1795459303852), -1);
    expect(report.queues.every((q: { listeners: number }) => q.listeners === 1)).toBe(true);
    expect(report.verdict.state).not.toBe('stuck');
    expect(check.code).toBe(0);
    // Three CLI runs, each starting the local workflow.
  }, 90_000);
});
