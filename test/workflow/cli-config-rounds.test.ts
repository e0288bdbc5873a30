import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { commandsDuring } from '../support/monitor-writes.js';
import { repoPath } from '../support/paths.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// The configuration file, the environment variables and drain-check's --previous were validated in
// rounds before the options: their problems were said, and only once they were fixed the options'.
// One message now says all of them, exit 2, nothing touched.
const redis = privateSourceAndTarget();
const dir = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-config-rounds-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
writeFileSync(join(dir, 'mapping.json'), JSON.stringify({ A: 'new' }));

async function seed(): Promise<void> {
  await redis.source().rpush('queue:q', sidekiqPayload({ className: 'A', queue: 'q', args: '[1]' }));
  await redis.source().sadd('queues', 'q');
}

async function untouched(run: () => Promise<{ code: number; stdout: string; stderr: string }>) {
  await seed();
  const before = await keyValueSnapshot(redis.source());
  const { result, commands } = await commandsDuring({ source: redis.source(), target: redis.target() }, run);
  expect(commands).toEqual([]);
  expect(await keyValueSnapshot(redis.source())).toEqual(before);
  return result;
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('the configuration file, the environment and the options in one message', { timeout: 120_000 }, () => {
  it('run: a bad entry of the configuration file and a bad option', async () => {
    const config = file('bad-page-size.yml', `redis: ${redis.urls().source}\npageSize: lots\nrouting:\n  mapping: mapping.json\n`);

    const result = await untouched(() => runCli('--config', config, 'run', '--unmapped', 'sometimes'));

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'Invalid options and files:\n' +
        `  - ${config}: pageSize: the page size must be a whole number in decimal digits, not "lots"\n` +
        '  - --unmapped: must be leave or quarantine\n',
    );
  });

  it('run: a ${VAR} not set in the configuration file and a bad option; the routing it leaves unknown is not said missing', async () => {
    vi.stubEnv('SIDEKIQ_MIGRATE_ROUNDS_UNSET', undefined);
    const config = file('unset-var.yml', `redis: ${redis.urls().source}\nrouting:\n  mapping: \${SIDEKIQ_MIGRATE_ROUNDS_UNSET}\n`);

    const result = await untouched(() => runCli('--config', config, 'run', '--page-size', '0x10'));

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'Invalid options and files:\n' +
        `  - ${config}: routing.mapping: the environment variable SIDEKIQ_MIGRATE_ROUNDS_UNSET is not set\n` +
        '  - --page-size: the page size must be a whole number in decimal digits, not "0x10"\n',
    );
  });

  it('run: a bad environment variable and a bad option; the Redis it leaves unknown is not said missing', async () => {
    vi.stubEnv('SIDEKIQ_MIGRATE_REDIS', 'http://h:6379');
    const config = file('good.yml', 'routing:\n  mapping: mapping.json\n');

    const result = await untouched(() => runCli('--config', config, 'run', '--page-size', '1e3'));

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `Using configuration file ${config} (--config)\n` +
        'Invalid options:\n' +
        '  - SIDEKIQ_MIGRATE_REDIS: http://h:6379: the scheme must be redis:// or rediss:// (TLS), not http://\n' +
        '  - --page-size: the page size must be a whole number in decimal digits, not "1e3"\n',
    );
  });

  it('drain-check: a bad entry of the configuration file, a bad --previous and a bad option', async () => {
    const config = file('drain.yml', `redis: ${redis.urls().source}\nsets: [schedule, bogus]\n`);
    const previous = file('previous.json', '{"checkedAt": "yesterday"}');

    const result = await untouched(() => runCli('--config', config, 'drain-check', '--previous', previous, '--time-limit', '0x1'));

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'Invalid options and files:\n' +
        `  - ${config}: sets: unknown set(s) bogus; choose from schedule, retry, dead, interrupted\n` +
        '  - --time-limit: the seconds the check may take must be a whole number in decimal digits, not "0x1"\n' +
        `  - --previous ${previous}: not a drain report saved by --save or --json (not a drain report)\n`,
    );
  });

  it('a configuration file that does not parse is said alone: its values, and so the options, are unknown', async () => {
    const config = file('broken.yml', 'redis: [unclosed\n');

    const result = await untouched(() => runCli('--config', config, 'run', '--page-size', '0x10'));

    expect(result.code).toBe(2);
    expect(result.stderr).not.toContain('--page-size');
    expect(result.stderr).toContain(config);
  });

  it('start: a bad entry of the configuration file and an option where it does nothing, before any AWS call', () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
    const home = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-home-'));
    const config = file('start.yml', 'pageSize: lots\nrouting:\n  mapping: mapping.json\naws:\n  region: us-east-1\n');
    const result = spawnSync(process.execPath, [repoPath('bin/sidekiq-migrate.js'), '--config', config, 'start', '--interval', '3'], { encoding: 'utf8', cwd: '/', env: { ...env, HOME: home } });

    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'Invalid options and files:\n' +
        `  - ${config}: pageSize: the page size must be a whole number in decimal digits, not "lots"\n` +
        '  - --interval: only applies with --watch (seconds between its polls): add --watch, or leave --interval out\n',
    );
    expect(result.status).toBe(2);
  });

  it('move: a missing CA file and a bad option, in one message, connecting to nothing', async () => {
    const ca = join(dir, 'missing-ca.pem');

    const result = await untouched(() => runCli('move', '--from', 'rediss://127.0.0.1:1', '--to', 'rediss://127.0.0.1:2', '--tls-ca', ca, '--page-size', '0x10'));

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'Invalid options and files:\n' +
        '  - --page-size: the page size must be a whole number in decimal digits, not "0x10"\n' +
        `  - Cannot read the CA certificate file ${ca}: no such file\n`,
    );
  });

  it('drain-check: a missing redis.yml and a bad option, in one message', async () => {
    const redisYml = join(dir, 'missing-redis.yml');

    const result = await untouched(() => runCli('drain-check', '--redis', 'main', '--redis-yml', redisYml, '--time-limit', '0x1'));

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'Invalid options and files:\n' +
        '  - --time-limit: the seconds the check may take must be a whole number in decimal digits, not "0x1"\n' +
        `  - Cannot read the Redis configuration (redis.yml) ${redisYml}: no such file\n`,
    );
  });

  it('drain-check: a --save it could not write and a bad option, in one message', async () => {
    const save = join(dir, 'no-such-dir', 'report.json');

    const result = await untouched(() => runCli('drain-check', '--redis', redis.urls().source, '--save', save, '--time-limit', '0x1'));

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'Invalid options and files:\n' +
        '  - --time-limit: the seconds the check may take must be a whole number in decimal digits, not "0x1"\n' +
        `  - Cannot write the drain report to ${save}: its directory ${join(dir, 'no-such-dir')} does not exist\n`,
    );
  });
});
