import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { commandsDuring } from '../support/monitor-writes.js';
import { repoPath } from '../support/paths.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// A numeric option's value went through Number(): `--page-size 1e3` was a page of 1000, `0x10` one
// of 16, `" 100"` 100, `+5` 5, and `--interval 1e1` ten seconds. A careful user means plain decimal
// digits; anything else is now refused naming the option and the text: exit 2, nothing touched
// (no command reaches either Redis; the AWS commands refuse before any call, without credentials).
const redis = privateSourceAndTarget();

async function seed(): Promise<void> {
  const source = redis.source();
  await source.rpush('queue:old', ...[1, 2].map((i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` })));
  await source.sadd('queues', 'old');
  await source.zadd('schedule', '1795459303.5', sidekiqPayload({ className: 'A', queue: 'old', args: '[3]' }));
}

describe('a numeric option in another spelling than decimal digits', { timeout: 120_000 }, () => {
  it.each([
    ['run --page-size 1e3', (r: string) => ['run', '--redis', r, '--rename', 'old=new', '--page-size', '1e3'], '--page-size: the page size must be a whole number in decimal digits, not "1e3"'],
    ['run --page-size 0x10', (r: string) => ['run', '--redis', r, '--rename', 'old=new', '--page-size', '0x10'], '--page-size: the page size must be a whole number in decimal digits, not "0x10"'],
    ['run --page-size " 100"', (r: string) => ['run', '--redis', r, '--rename', 'old=new', '--page-size', ' 100'], '--page-size: the page size must be a whole number in decimal digits, not " 100"'],
    ["run --page-size ''", (r: string) => ['run', '--redis', r, '--rename', 'old=new', '--page-size', ''], '--page-size: the page size must be a whole number in decimal digits, not ""'],
    ['rollback --page-size +5', (r: string) => ['rollback', 'reroute-1', '--redis', r, '--page-size', '+5'], '--page-size: the page size must be a whole number in decimal digits, not "+5"'],
    ['move --rate-limit 1e2', (r: string, t: string) => ['move', '--from', r, '--to', t, '--rate-limit', '1e2'], '--rate-limit: the rate limit must be a whole number in decimal digits, not "1e2"'],
    ['move --from-replicas 0x1', (r: string, t: string) => ['move', '--from', r, '--to', t, '--from-replicas', '0x1'], '--from-replicas: the replica count must be a whole number in decimal digits, not "0x1"'],
    ['move --to-replicas Infinity', (r: string, t: string) => ['move', '--from', r, '--to', t, '--to-replicas', 'Infinity'], '--to-replicas: the replica count must be a whole number in decimal digits, not "Infinity"'],
    ['drain-check --time-limit 6e2', (r: string) => ['drain-check', '--redis', r, '--time-limit', '6e2'], '--time-limit: the seconds the check may take must be a whole number in decimal digits, not "6e2"'],
  ])('%s: exit 2, the option and its text named, no command reaches either Redis', async (_case, args, message) => {
    await seed();
    const { source, target } = redis.urls();
    const before = { source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) };

    const { result, commands } = await commandsDuring({ source: redis.source(), target: redis.target() }, () => runCli(...args(source, target)));

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`${message}\n`);
    expect(commands).toEqual([]);
    expect({ source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) }).toEqual(before);
  });

  it('several at once: each named, in one message', async () => {
    await seed();
    const { source, target } = redis.urls();
    const before = await keyValueSnapshot(redis.source());

    const result = await runCli('move', '--from', source, '--to', target, '--page-size', '1e3', '--rate-limit', '0x10', '--to-replicas', '2');

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'Invalid options:\n  - --page-size: the page size must be a whole number in decimal digits, not "1e3"\n  - --rate-limit: the rate limit must be a whole number in decimal digits, not "0x10"\n',
    );
    expect(await keyValueSnapshot(redis.source())).toEqual(before);
  });

  it('plain decimal digits, leading zeros included, are taken: --page-size 0010 is a page of 10', async () => {
    await seed();
    const result = await runCli('run', '--redis', redis.urls().source, '--rename', 'old=new', '--page-size', '0010', '--dry-run');

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Dry run, nothing written: a run would move 3 job(s) and leave none behind.');
  });

  // The compiled executable, as `npx sidekiq-migrate` runs it, without AWS credentials or region
  // files: a command that got past its options would say what AWS said instead.
  it.each([
    [['list', '--limit', '1e1'], '--limit: the limit must be a whole number in decimal digits, not "1e1"'],
    [['watch', 'x', '--interval', '1e1'], '--interval: the interval must be a number of seconds in decimal digits, not "1e1"'],
    [['stop', 'x', '--interval', '0x5'], '--interval: the interval must be a number of seconds in decimal digits, not "0x5"'],
    [['start', '--rename', 'a=b', '--watch', '--interval', ' 5'], '--interval: the interval must be a number of seconds in decimal digits, not " 5"'],
    [['start', '--rename', 'a=b', '--page-size', '1e3'], '--page-size: the page size must be a whole number in decimal digits, not "1e3"'],
    [['start', '--mode', 'transfer', '--rate-limit', '1e2'], '--rate-limit: the rate limit must be a whole number in decimal digits, not "1e2"'],
  ])('%j: exit 2 before anything is asked of AWS', (args, message) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
    const home = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-home-'));
    const result = spawnSync(process.execPath, [repoPath('bin/sidekiq-migrate.js'), ...args, '--region', 'us-east-1'], { encoding: 'utf8', cwd: '/', env: { ...env, HOME: home } });

    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`${message}\n`);
    expect(result.status).toBe(2);
  });

  // `.5` is decimal too (and took by Number() before): refused, it was said not to be in decimal digits.
  it.each(['0.5', '.5'])('--interval keeps its fractions of a second: watch --interval %s gets past its options', (interval) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
    const home = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-home-'));
    const result = spawnSync(process.execPath, [repoPath('bin/sidekiq-migrate.js'), 'watch', 'x', '--interval', interval, '--state-machine', 'arn:aws:states:us-east-1:123456789012:stateMachine:x'], { encoding: 'utf8', cwd: '/', env: { ...env, HOME: home } });

    expect(result.stderr).not.toContain('--interval');
    expect(result.stderr).toMatch(/^Finding the newest execution of run x/);
  });
});
