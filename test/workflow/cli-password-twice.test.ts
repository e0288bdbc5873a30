import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { refusedUntouched } from '../support/refused-untouched.js';
import { runCli } from '../support/run-cli.js';

// A URL with a password and a password given apart from it (--password, a side's own, the
// variable or the configuration file's `password`): the URL's was dropped without a word, while
// ioredis takes the URL's and redis-cli the last given. Two different passwords for one Redis are
// now refused, each place named, in one message with the other problems (exit 2, nothing touched);
// the same password in both places goes on.
const redis = privateSourceAndTarget();
const withPassword = (url: string, password: string) => url.replace('redis://', `redis://:${password}@`);
const shown = (url: string) => url.replace('redis://', 'redis://:***@');
const dir = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-password-twice-'));
afterEach(() => vi.unstubAllEnvs());

const untouched = (run: Parameters<typeof refusedUntouched>[1]) => refusedUntouched(redis, run);

const twice = (place: string, endpoint: string) =>
  `${place}: ${endpoint} has a password of its own, a different one: which is meant is not clear (ioredis takes the URL's, redis-cli the last given). Give the password in one place: leave ${place} out, or take the password out of the URL`;

describe('a password in the URL and another apart from it', { timeout: 120_000 }, () => {
  it('run: --password beside a URL with another password, and a bad --page-size: one message', async () => {
    const url = withPassword(redis.urls().source, 'in-url');
    const { stderr } = await untouched(() => runCli('run', '--redis', url, '--password', 'typed', '--rename', 'q=new', '--page-size', '0'));

    expect(stderr).toBe(`Invalid options and files:\n  - --page-size: the page size must be positive\n  - ${twice('--password', `--redis ${shown(redis.urls().source)}`)}\n`);
    expect(stderr).not.toMatch(/in-url|typed/);
  });

  it('move: each side named, its own password (--from-password) and the shared one ($SIDEKIQ_MIGRATE_PASSWORD)', async () => {
    vi.stubEnv('SIDEKIQ_MIGRATE_PASSWORD', 'from-env');
    const { source, target } = redis.urls();
    const { stderr } = await untouched(() => runCli('move', '--from', withPassword(source, 'in-url'), '--to', withPassword(target, 'in-url-2'), '--from-password', 'typed'));

    expect(stderr).toBe(`Invalid options and files:\n  - ${twice('--from-password', `--from ${shown(source)}`)}\n  - ${twice('$SIDEKIQ_MIGRATE_PASSWORD', `--to ${shown(target)}`)}\n`);
  });

  it("rollback: the configuration file's password", async () => {
    const config = join(dir, 'sidekiq-migrate.config.json');
    writeFileSync(config, JSON.stringify({ password: 'from-file' }));
    const { stderr } = await untouched(() => runCli('--config', config, 'rollback', 'reroute-1', '--redis', withPassword(redis.urls().source, 'in-url')));

    expect(stderr).toBe(`Using configuration file ${config} (--config)\n${twice("the configuration file's password", `--redis ${shown(redis.urls().source)}`)}\n`);
  });

  it("drain-check: --to's URL and --password (its default)", async () => {
    const { source, target } = redis.urls();
    const { stderr } = await untouched(() => runCli('drain-check', '--redis', source, '--run-id', 'transfer-1', '--to', withPassword(target, 'in-url'), '--password', 'typed'));

    expect(stderr).toBe(`${twice('--password', `--to ${shown(target)}`)}\n`);
  });

  it('the same password in both places goes on, as with it given once', async () => {
    await redis.source().config('SET', 'requirepass', 'same');
    try {
      const checked = await runCli('drain-check', '--redis', withPassword(redis.urls().source, 'same'), '--password', 'same', '--json');

      expect(checked.stderr).toBe('');
      expect(checked.code).toBe(0);
      expect(JSON.parse(checked.stdout)).toMatchObject({ remaining: 0 });
    } finally {
      await redis.source().config('SET', 'requirepass', '');
    }
  });
});
