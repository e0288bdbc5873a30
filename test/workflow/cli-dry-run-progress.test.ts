import { describe, expect, it } from 'vitest';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// The progress of a dry run said what a run says, "3 moved", page after page: a log of the dry
// run (`2> dry-run.log`, the plain lines of a pipe) read as if it had moved the jobs. Only its
// summary's first line said that "moved" means "would move".
const redis = privateSourceAndTarget();

async function seed(): Promise<void> {
  const source = redis.source();
  await source.rpush('queue:old', ...[1, 2, 3].map((i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` })));
  await source.sadd('queues', 'old');
  await source.zadd('schedule', '1795459303.5', sidekiqPayload({ className: 'A', queue: 'old', args: '[4]' }));
}

describe('the progress lines of a dry run', { timeout: 120_000 }, () => {
  it('run --dry-run: each page says what a run would move, never "moved"; nothing written', async () => {
    await seed();
    const before = await keyValueSnapshot(redis.source());

    const dry = await runCli('run', '--redis', redis.urls().source, '--rename', 'old=new', '--dry-run');

    expect(dry.code, dry.stderr).toBe(0);
    const lines = dry.stderr.split('\n').filter((l) => l.includes(' seen '));
    expect(lines).toContain('queue:old                    [########################]        3 seen        3 would move  done');
    expect(lines).toContain('schedule                     [########################]        1 seen        1 would move  done');
    expect(lines.filter((l) => / moved\b/.test(l))).toEqual([]);
    expect(await keyValueSnapshot(redis.source())).toEqual(before);
  });

  it('move --dry-run: each page says what a run would move; the run then says moved', async () => {
    await seed();
    const before = { source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) };

    const dry = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--dry-run');

    expect(dry.code, dry.stderr).toBe(0);
    const lines = dry.stderr.split('\n').filter((l) => l.includes(' seen '));
    expect(lines).toContain('queue:old                    [########################]        3 seen        3 would move  done');
    expect(lines.filter((l) => / moved\b/.test(l))).toEqual([]);
    expect({ source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) }).toEqual(before);

    const run = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr.split('\n')).toContain('queue:old                    [########################]        3 seen        3 moved  done');
    expect(await redis.target().llen('queue:old')).toBe(3);
    expect(await redis.source().exists('queue:old')).toBe(0);
  });
});
