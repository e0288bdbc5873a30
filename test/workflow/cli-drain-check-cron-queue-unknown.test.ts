// A sidekiq-cron definition whose queue this tool cannot know: a hash with no `message` and no
// `queue` field (sidekiq-cron then pushes to the queue its class's sidekiq_options name, which only
// the app knows), or a message that is not a job it can read. Either may push to a retired queue:
// drain-check --retired-queues never says DRAINED while an enabled one exists, and names it and why.
import { describe, expect, it } from 'vitest';
import { privateRedis } from '../support/private-redis.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { runCli } from '../support/run-cli.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';

const redis = privateRedis();

const NO_QUEUE = "no message field and no queue field (sidekiq-cron pushes to the queue its class's sidekiq_options name, not known here)";

async function seed(): Promise<void> {
  await redis.client().sadd('cron_jobs', 'cron_job:klass_only', 'cron_job:broken', 'cron_job:off');
  await redis.client().hset('cron_job:klass_only', { name: 'klass_only', klass: 'StuckCiJobsWorker', cron: '0 * * * *', args: '[]', status: 'enabled' });
  await redis.client().hset('cron_job:broken', { name: 'broken', message: '{"queue":"old","class":', status: 'enabled' });
  // Disabled: sidekiq-cron pushes nothing for it, so it does not hold the verdict.
  await redis.client().hset('cron_job:off', { name: 'off', message: 'not json', status: 'disabled' });
  await heartbeat(redis.client(), new SidekiqKeys(''), 'w:1:aaaaaaaaaaaa', ['default'], { beatAt: Date.now() / 1000 });
}

describe('drain-check over a sidekiq-cron definition whose queue is not known', () => {
  it('--retired-queues: not DRAINED, names each enabled one and why, exit 1; --json says it too; nothing touched', async () => {
    await seed();
    const before = await keyValueSnapshot(redis.client(), 'cron_job');

    const check = await runCli('drain-check', '--redis', redis.url(), '--retired-queues', 'old');
    const json = await runCli('drain-check', '--redis', redis.url(), '--retired-queues', 'old', '--json');

    expect(check.stdout).not.toContain('DRAINED');
    expect(check.stdout.split('\n')[0]).toMatch(/^redis:\/\/\S+: DRAINING — /);
    const reason = check.stdout.split('\n').filter((l) => l.startsWith('  - sidekiq-cron: 2 enabled definition(s)'));
    expect(reason).toHaveLength(1);
    expect(reason[0]).toMatch(/^ {2}- sidekiq-cron: 2 enabled definition\(s\) push to a queue this check cannot know \(broken: [^;]+; klass_only: no message field and no queue field \(sidekiq-cron pushes to the queue its class's sidekiq_options name, not known here\)\): one may push to a retired queue, so this is not a verdict of drained; check where they push by hand \(the class's sidekiq_options, or the message of their cron_job:… hash\)$/);
    expect(check.stdout).toContain(`  klass_only → ? (queue unknown: ${NO_QUEUE})`);
    expect(check.code).toBe(1);

    const report = JSON.parse(json.stdout) as { verdict: { state: string; reasons: string[] }; cron: { name: string; queue: string | null; queueUnknown?: string }[] };
    expect(json.code).toBe(1);
    expect(report.verdict.state).toBe('draining');
    expect(report.verdict.reasons).toContain(reason[0]!.slice('  - '.length));
    expect(report.cron.find((c) => c.name === 'klass_only')).toMatchObject({ queue: null, queueUnknown: NO_QUEUE });
    expect(report.cron.find((c) => c.name === 'broken')?.queueUnknown).toEqual(expect.any(String));
    expect(report.cron.find((c) => c.name === 'off')?.queueUnknown).toEqual(expect.any(String));
    expect(await keyValueSnapshot(redis.client(), 'cron_job')).toEqual(before);
  });

  it('without --retired-queues: listed with why its queue is not known, the verdict unchanged (DRAINED, exit 0)', async () => {
    await seed();

    const check = await runCli('drain-check', '--redis', redis.url());

    expect(check.stdout.split('\n')[0]).toMatch(/^redis:\/\/\S+: DRAINED — 0 job\(s\) left$/);
    expect(check.stdout).toContain(`  klass_only → ? (queue unknown: ${NO_QUEUE})`);
    expect(check.code).toBe(0);
  });
});
