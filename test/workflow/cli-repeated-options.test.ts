import { describe, expect, it } from 'vitest';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { refusedUntouched } from '../support/refused-untouched.js';
import { runCli } from '../support/run-cli.js';

// A single-value option given twice took the later value without a word: `run --redis A --redis B`
// (a command pasted with two --redis) worked on B. Refused now, naming the option and both values,
// as is an option given with its --no- form; exit 2, nothing touched. --catalog and --rename repeat.
const redis = privateSourceAndTarget();
const untouched = (run: Parameters<typeof refusedUntouched>[1]) => refusedUntouched(redis, run);

describe('a single-value option given twice', { timeout: 120_000 }, () => {
  it('run --redis A --redis B, move --from A --from B, --queues --no-queues: refused naming both', async () => {
    const { source, target } = redis.urls();
    const run = await untouched(() => runCli('run', '--redis', target, '--redis', source, '--rename', 'q=new'));
    const move = await untouched(() => runCli('move', '--from', target, '--from', source, '--to', target));
    const flags = await untouched(() => runCli('move', '--from', source, '--to', target, '--queues', '--no-queues'));
    const drain = await untouched(() => runCli('drain-check', '--redis', source, '--save', 'a.json', '--save', 'b.json'));

    expect(run.stderr).toBe(`--redis: given twice, ${target} and ${source}: which one is meant is not clear. Give it once. Nothing was touched.\n`);
    expect(move.stderr).toBe(`--from: given twice, ${target} and ${source}: which one is meant is not clear. Give it once. Nothing was touched.\n`);
    expect(flags.stderr).toBe('--queues and --no-queues: both given: which one is meant is not clear. Give one of them. Nothing was touched.\n');
    expect(drain.stderr).toBe('--save: given twice, a.json and b.json: which one is meant is not clear. Give it once. Nothing was touched.\n');
  });

  it('a password given twice is refused without showing either', async () => {
    const { source, target } = redis.urls();
    const withPassword = source.replace('redis://', 'redis://:secret-one@');
    const passwords = await untouched(() => runCli('move', '--from', source, '--to', target, '--password', 'typed-one', '--password', 'typed-two'));
    const urls = await untouched(() => runCli('run', '--redis', withPassword, '--redis', target, '--rename', 'q=new'));

    expect(passwords.stderr).toBe('--password: given twice, with two different values (not shown: a password): which one is meant is not clear. Give it once. Nothing was touched.\n');
    expect(urls.stderr).toBe(`--redis: given twice, ${source.replace('redis://', 'redis://:***@')} and ${target}: which one is meant is not clear. Give it once. Nothing was touched.\n`);
  });

  it('the same value twice, and the options that repeat, still run', async () => {
    const { source } = redis.urls();
    await redis.source().rpush('queue:q', 'x');
    const same = await runCli('run', '--redis', source, '--redis', source, '--rename', 'q=new', '--rename', 'other=new2', '--dry-run', '--dry-run');

    expect(same.code).toBe(0);
    expect(same.stderr).not.toMatch(/given twice|both given/);
  });
});
