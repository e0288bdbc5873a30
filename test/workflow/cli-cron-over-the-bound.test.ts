// More sidekiq-cron definitions than the tool reads (MAX_CRON_DEFINITIONS): the move carries the
// first ones and says, in numbers, that the rest were neither read nor copied, and does not end
// "Complete" / exit 0 as if every definition were on the target.
import { describe, expect, it } from 'vitest';
import { MAX_CRON_DEFINITIONS } from '../../core/cron/cron-definitions.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';

const redis = privateSourceAndTarget();
const message = '{"queue":"default","class":"W","args":[]}';

/** n 2.x definitions in cron_jobs:default, job_00000…, in one pipeline. */
async function seed(n: number): Promise<void> {
  const p = redis.source().pipeline();
  for (let i = 0; i < n; i++) {
    const name = `job_${String(i).padStart(5, '0')}`;
    p.sadd('cron_jobs:default', `cron_job:default:${name}`);
    p.hset(`cron_job:default:${name}`, { name, namespace: 'default', message, status: 'enabled' });
  }
  await p.exec();
}

describe('more sidekiq-cron definitions than the bound', () => {
  it('move --cron says how many exist and that only the first were carried, and does not exit 0', async () => {
    const n = MAX_CRON_DEFINITIONS + 1;
    await seed(n);

    const carried = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--no-queues', '--sets', 'schedule', '--cron');

    expect(await redis.target().scard('cron_jobs:default')).toBe(MAX_CRON_DEFINITIONS);
    expect(await redis.source().scard('cron_jobs:default')).toBe(n);
    expect(carried.stderr).toContain('sidekiq-cron: 10000 definition(s) copied to the target; the source keeps its own.');
    expect(carried.stderr).toContain(
      'sidekiq-cron: the source has 10001 definition(s); this tool reads the first 10000 (its bound): 1 not read, so not copied to the target. Copy them by hand (their cron_job:… hashes and cron_jobs sets), or load their schedule on the target.',
    );
    expect(carried.stdout).not.toContain('Complete');
    expect(carried.stdout).toContain('Done, but 1 sidekiq-cron definition(s) were not read, so not copied to the target (see above).');
    expect(carried.code).toBe(1);
  }, 240_000);

  it('run --rewrite-cron rewrites the ones it read and says it left the rest unread, not Complete, exit 1', async () => {
    const n = MAX_CRON_DEFINITIONS + 1;
    await seed(n);

    const run = await runCli('run', '--redis', redis.urls().source, '--rename', 'default=renamed', '--rewrite-cron');

    // Which one was left is the set's order (SMEMBERS): counted, not named.
    const p = redis.source().pipeline();
    for (let i = 0; i < n; i++) p.hget(`cron_job:default:job_${String(i).padStart(5, '0')}`, 'message');
    const queues = ((await p.exec()) ?? []).map(([, m]) => (JSON.parse(m as string) as { queue: string }).queue);
    expect(queues.filter((q) => q === 'renamed').length).toBe(MAX_CRON_DEFINITIONS);
    expect(queues.filter((q) => q === 'default').length).toBe(1);
    expect(run.stderr).toContain(
      'sidekiq-cron: the source has 10001 definition(s); this tool reads the first 10000 (its bound): 1 not read, so neither judged by the routing nor rewritten. Check where they push by hand (the message or queue field of their cron_job:… hashes).',
    );
    expect(run.stdout).not.toContain('Complete');
    expect(run.stdout).toContain('Done, but 1 sidekiq-cron definition(s) were not read, so neither judged nor rewritten (see above).');
    expect(run.code).toBe(1);
  }, 240_000);

  it('drain-check with --retired-queues says its cron look was cut short, not DRAINED, exit 1', async () => {
    await seed(MAX_CRON_DEFINITIONS + 2);

    const check = await runCli('drain-check', '--redis', redis.urls().source, '--retired-queues', 'old');

    expect(check.stdout).not.toContain('DRAINED');
    expect(check.stdout).toContain('sidekiq-cron definitions: 10000 read of the 10002 on this Redis (this check reads the first 10000; 2 not read)');
    expect(check.stdout).toContain('sidekiq-cron: 2 of the 10002 definitions were not read (this check reads the first 10000): whether they push to a retired queue is not known, so this is not a verdict of drained');
    expect(check.code).toBe(1);
  }, 240_000);
});
