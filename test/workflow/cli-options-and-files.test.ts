import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { commandsDuring } from '../support/monitor-writes.js';
import { CE_CATALOG, repoPath } from '../support/paths.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// Options wrong and a file wrong: the options' problems were said, and only once they were fixed
// the file's (a second round). The guide says every problem is reported together: one message
// now lists both, exit 2, nothing touched.
const redis = privateSourceAndTarget();
const dir = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-options-files-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

async function seed(): Promise<void> {
  await redis.source().rpush('queue:q', sidekiqPayload({ className: 'A', queue: 'q', args: '[1]' }));
  await redis.source().sadd('queues', 'q');
}

describe('bad options and bad files at once', { timeout: 120_000 }, () => {
  it('run: an invalid --page-size and a routing rule that does not parse, in one message', async () => {
    await seed();
    const rules = file('rules.yml', "- ['urgency=high', 'high']\n- ['bogus=1', 'x']\n");
    const before = await keyValueSnapshot(redis.source());

    const { result, commands } = await commandsDuring({ source: redis.source(), target: redis.target() }, () =>
      runCli('run', '--redis', redis.urls().source, '--catalog', CE_CATALOG, '--rules', rules, '--page-size', '1e3'),
    );

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `Invalid options and files:\n  - --page-size: the page size must be a whole number in decimal digits, not "1e3"\n  - Unknown predicate: bogus\n      (in routing rule 2 of ${rules})\n`,
    );
    expect(commands).toEqual([]);
    expect(await keyValueSnapshot(redis.source())).toEqual(before);
  });

  it('move: an invalid --rate-limit, a bad mapping and a bad classes file, in one message', async () => {
    await seed();
    const mapping = file('mapping.json', '{"A": 3}');
    const classes = file('classes.json', '[1, ""]');
    const before = { source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) };

    const { result, commands } = await commandsDuring({ source: redis.source(), target: redis.target() }, () =>
      runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--classes-file', classes, '--mapping', mapping, '--rate-limit', 'x'),
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'Invalid options and files:\n' +
        '  - --rate-limit: the rate limit must be a whole number in decimal digits, not "x"\n' +
        `  - ${mapping}: invalid class mapping:\n      - A: the queue must be a non-empty string, got 3\n` +
        `  - ${classes}: invalid classes file:\n      - entry 1: a class name, got 1\n      - entry 2: a class name, got ""\n`,
    );
    expect(commands).toEqual([]);
    expect({ source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) }).toEqual(before);
  });

  it('drain-check: an invalid --time-limit and a bad classes file, in one message', async () => {
    await seed();
    const classes = file('drain-classes.json', '[1]');
    const before = await keyValueSnapshot(redis.source());

    const { result, commands } = await commandsDuring({ source: redis.source(), target: redis.target() }, () =>
      runCli('drain-check', '--redis', redis.urls().source, '--time-limit', '0x1', '--classes-file', classes),
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `Invalid options and files:\n  - --time-limit: the seconds the check may take must be a whole number in decimal digits, not "0x1"\n  - ${classes}: invalid classes file:\n      - entry 1: a class name, got 1\n`,
    );
    expect(commands).toEqual([]);
    expect(await keyValueSnapshot(redis.source())).toEqual(before);
  });

  it('a file whose option is itself wrong is not read: --rules with no --catalog says so once', async () => {
    const rules = file('rules-alone.yml', "- ['bogus=1', 'x']\n");

    const result = await runCli('run', '--redis', redis.urls().source, '--rules', rules, '--page-size', '0x10');

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "Invalid options:\n  - --page-size: the page size must be a whole number in decimal digits, not \"0x10\"\n  - --catalog: routing rules need the worker catalog (GitLab's app/workers/all_queues.yml)\n",
    );
  });

  it('start: an option where it does nothing and a missing mapping file, before any AWS call', () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
    const home = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-home-'));
    const missing = join(dir, 'missing.json');
    const result = spawnSync(process.execPath, [repoPath('bin/sidekiq-migrate.js'), 'start', '--mapping', missing, '--interval', '3', '--region', 'us-east-1'], { encoding: 'utf8', cwd: '/', env: { ...env, HOME: home } });

    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `Invalid options and files:\n  - --interval: only applies with --watch (seconds between its polls): add --watch, or leave --interval out\n  - Cannot read the class mapping file ${missing}: no such file\n`,
    );
    expect(result.status).toBe(2);
  });
});
