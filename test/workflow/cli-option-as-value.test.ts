import { describe, expect, it } from 'vitest';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// An option whose value was left out takes the next word as its value, even another option:
// `move --from A --to B --to-namespace --dry-run` (or `--to-namespace $NS --dry-run` with NS empty
// and unquoted) was no dry run. It moved every job to B under the prefix "--dry-run:", where no
// Sidekiq fetches, and said "Complete". `--classes --dry-run` ran a real move of a class named
// "--dry-run". A value that is one of the command's own options is now refused: exit 2, nothing
// touched.
const redis = privateSourceAndTarget();

async function seed(): Promise<void> {
  const source = redis.source();
  await source.rpush('queue:old', ...[1, 2].map((i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` })));
  await source.sadd('queues', 'old');
  await source.zadd('schedule', '1795459303.5', sidekiqPayload({ className: 'A', queue: 'old', args: '[3]' }));
}

describe('an option given another option as its value', { timeout: 120_000 }, () => {
  it.each([
    ['move --to-namespace --dry-run', (from: string, to: string) => ['move', '--from', from, '--to', to, '--to-namespace', '--dry-run'], '--to-namespace', '--dry-run'],
    ['move --classes --dry-run', (from: string, to: string) => ['move', '--from', from, '--to', to, '--classes', '--dry-run'], '--classes', '--dry-run'],
    ['move --namespace --json', (from: string, to: string) => ['move', '--from', from, '--to', to, '--namespace', '--json', '--dry-run'], '--namespace', '--json'],
    ['run --namespace --dry-run', (from: string) => ['run', '--redis', from, '--namespace', '--dry-run', '--rename', 'old=new'], '--namespace', '--dry-run'],
    ['run --rename old=new --sets --no-queues', (from: string) => ['run', '--redis', from, '--rename', 'old=new', '--sets', '--no-queues'], '--sets', '--no-queues'],
    ['drain-check --namespace --json', (from: string) => ['drain-check', '--redis', from, '--namespace', '--json'], '--namespace', '--json'],
    // The option's value left out before an option that takes one: its value became an argument
    // the command has no place for, and commander's "too many arguments for 'run'. Expected 0
    // arguments but got 1." was all the user saw, naming neither --redis nor --rename.
    ['run --redis --rename old=new', () => ['run', '--redis', '--rename', 'old=new'], '--redis', '--rename'],
    ['move --from URL --to --namespace x', (from: string) => ['move', '--from', from, '--to', '--namespace', 'x'], '--to', '--namespace'],
  ])('%s: exit 2, the option and the word it took named, nothing touched on either side', async (_case, args, option, word) => {
    await seed();
    const { source, target } = redis.urls();
    const before = { source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) };

    const result = await runCli(...args(source, target));

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`${option}: its value is missing: it took ${word}, an option of this command, as its value. Give ${option} its value (an empty one as ${option} ''). Nothing was touched.\n`);
    expect({ source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) }).toEqual(before);
  });

  it('a plain excess argument is still refused in commander\'s words: exit 2, nothing touched', async () => {
    await seed();
    const before = await keyValueSnapshot(redis.source());

    const result = await runCli('run', '--redis', redis.urls().source, '--rename', 'old=new', 'extra');

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe("error: too many arguments for 'run'. Expected 0 arguments but got 1.\n(run with --help for usage)\n");
    expect(await keyValueSnapshot(redis.source())).toEqual(before);
  });

  it("an empty prefix given as '' is a value: move --to-namespace '' --dry-run is a dry run", async () => {
    await seed();
    const { source, target } = redis.urls();
    const before = { source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) };

    const result = await runCli('move', '--from', source, '--to', target, '--to-namespace', '', '--dry-run');

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Dry run, nothing written: a run would move 3 job(s) and leave none behind.');
    expect({ source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) }).toEqual(before);
  });
});
