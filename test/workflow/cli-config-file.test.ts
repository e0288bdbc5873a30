import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CE_CATALOG, EXAMPLE_RULES, repoPath } from '../support/paths.js';
import { privateRedis } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';

const server = privateRedis();
const UNREACHABLE = 'redis://127.0.0.1:1';

const cli = runCli;

/** A configuration file (and a mapping file beside it, which it names relatively) in a new directory. */
function configFile(text: string, name = 'sidekiq-migrate.config.yaml'): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cli-config-'));
  writeFileSync(join(dir, 'mapping.json'), JSON.stringify({ A: 'new' }));
  writeFileSync(join(dir, name), text);
  return { dir, path: join(dir, name) };
}

async function seed(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) {
    await server.client().lpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
    await server.client().zadd('schedule', String(2e9 + i), sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
  }
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('sidekiq-migrate with a configuration file', () => {
  it('run takes everything from the file, and says which file it uses', async () => {
    await seed();
    const { path } = configFile(`redis: ${server.url()}\nsets: schedule\npageSize: 2\nrouting:\n  mapping: mapping.json\n`);

    const { code, stdout, stderr } = await cli('--config', path, 'run', '--json');

    expect(code).toBe(0);
    expect(stderr).toBe(`Using configuration file ${path} (--config)\n`);
    expect(JSON.parse(stdout)).toMatchObject({ mode: 'reroute', complete: true, sets: { schedule: { moved: 5 } }, totals: { moved: 10 } });
    expect(Object.keys(JSON.parse(stdout).sets)).toEqual(['schedule']);
    expect(await server.client().llen('queue:new')).toBe(5);
  });

  it('a flag overrides the file', async () => {
    await seed();
    const { path } = configFile(`redis: ${UNREACHABLE}\nrouting:\n  mapping: mapping.json\n`);

    const { code } = await cli('run', '--config', path, '--redis', server.url(), '--json');

    expect(code).toBe(0);
    expect(await server.client().llen('queue:new')).toBe(5);
  });

  it('an environment variable overrides the file, and a flag the variable', async () => {
    await seed();
    const { path } = configFile(`redis: ${UNREACHABLE}\nrouting:\n  mapping: mapping.json\n`);
    vi.stubEnv('SIDEKIQ_MIGRATE_CONFIG', path);
    vi.stubEnv('SIDEKIQ_MIGRATE_REDIS', server.url());

    const fromEnv = await cli('run', '--json', '--dry-run');
    vi.stubEnv('SIDEKIQ_MIGRATE_REDIS', UNREACHABLE);
    const fromFlag = await cli('run', '--json', '--redis', server.url());

    expect(fromEnv.code).toBe(0);
    expect(fromEnv.stderr).toBe(`Using configuration file ${path} (SIDEKIQ_MIGRATE_CONFIG)\n`);
    expect(JSON.parse(fromEnv.stdout)).toMatchObject({ dryRun: true, totals: { moved: 10 } });
    expect(fromFlag.code).toBe(0);
    expect(await server.client().llen('queue:new')).toBe(5);
  });

  it("a routing flag replaces the file's whole routing section", async () => {
    await seed();
    const { path } = configFile(`redis: ${server.url()}\nrouting:\n  catalog: ${CE_CATALOG}\n  rules: ${EXAMPLE_RULES}\n`);

    const { code, stderr } = await cli('--config', path, 'run', '--rename', 'old=renamed', '--json');

    expect(stderr).not.toContain('give one of');
    expect(code).toBe(0);
    expect(await server.client().llen('queue:renamed')).toBe(5);
  });

  it("--environment typed beside the file's rules picks their section and keeps them (it dropped them: refused, or a move without the re-routing)", async () => {
    const job = sidekiqPayload({ className: 'AdminEmailWorker', queue: 'cronjob:admin_email', args: '[1]' });
    await server.client().lpush('queue:cronjob:admin_email', job);
    await server.client().sadd('queues', 'cronjob:admin_email');
    const { dir, path } = configFile(`redis: ${server.url()}\nrouting:\n  catalog: ${CE_CATALOG}\n  rules: gitlab.yml\n  environment: production\n`);
    writeFileSync(join(dir, 'gitlab.yml'), 'production:\n  sidekiq:\n    routing_rules:\n      - ["*", "default"]\nstaging:\n  sidekiq:\n    routing_rules:\n      - ["*", "staging_q"]\n');

    const { code, stdout, stderr } = await cli('--config', path, 'run', '--environment', 'staging', '--json');

    expect(stderr).not.toContain('--environment');
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ complete: true });
    expect(await server.client().lrange('queue:staging_q', 0, -1)).toEqual([job.replace('"queue":"cronjob:admin_email"', '"queue":"staging_q"')]);
    expect(await server.client().exists('queue:cronjob:admin_email', 'queue:default')).toBe(0);
  });

  it('drain-check takes the Redis from the file it finds in the current directory', async () => {
    const { dir } = configFile(`redis: ${server.url()}\n`);
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SIDEKIQ_MIGRATE_')));

    const { stdout, stderr } = await promisify(execFile)(process.execPath, [repoPath('bin/sidekiq-migrate.js'), 'drain-check'], { cwd: dir, env });

    expect(stderr).toBe('Using configuration file sidekiq-migrate.config.yaml (the current directory)\n');
    // The file's Redis, empty here: said so (cli-drain-check-no-sidekiq.test.ts).
    expect(stdout).toMatch(/^redis:\/\/127\.0\.0\.1:\d+: DRAINED — 0 job\(s\) left: no Sidekiq data at all there /m);
  });

  it('a bad file exits 2 with one message naming the file and the key, touching nothing', async () => {
    await seed();
    const { path } = configFile(`redis: ${server.url()}\nrouting:\n  mapping: mapping.json\n  rulez: rules.yml\n`, 'team.yml');

    const { code, stdout, stderr } = await cli('run', '--config', path);

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(`${path}: routing.rulez: unknown key (did you mean "rules"?)\n`);
    expect(await server.client().llen('queue:old')).toBe(5);
  });

  it('never prints the password it takes from the environment', async () => {
    await seed();
    const password = 'Sup3r-S3cret';
    const url = server.url().replace('redis://', 'redis://:${REDIS_PASSWORD}@');
    vi.stubEnv('REDIS_PASSWORD', password);
    const good = configFile(`redis: "${url}"\nrouting:\n  mapping: mapping.json\n`);
    const bad = configFile(`redis: "${url.replace('redis://', 'http://')}"\nfrom: "redis://:${password}@h:6379"\npageSize: lots\n`);
    await server.client().config('SET', 'requirepass', password);
    try {
      const ran = await cli('--config', good.path, 'run');
      const refused = await cli('--config', bad.path, 'run');
      const drainRefused = await cli('--config', bad.path, 'drain-check');

      expect(ran.code).toBe(0);
      expect(ran.stdout).toContain('Complete: everything that could be moved was moved.');
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`${bad.path}: pageSize: the page size must be a whole number in decimal digits, not "lots"`);
      expect(refused.stderr).toContain(`${bad.path}: redis: `);
      expect(drainRefused.code).toBe(2);
      for (const output of [ran, refused, drainRefused]) expect(output.stdout + output.stderr).not.toContain(password);
    } finally {
      await server.client().config('SET', 'requirepass', '');
    }
  });

  // `from` and `to` take a URL or a store name: a URL of the wrong scheme was answered with what is
  // expected only ("a Redis URL: …, or a store name of redisYml"), not what was wrong with it, as
  // `redis:` says; an operator read that as "my URL is not a URL" and looked for a typo.
  it('from: an http:// URL exits 2 saying the scheme is wrong and which it must be, with every other problem, never the password; nothing touched', async () => {
    await seed();
    const { path } = configFile('from: "http://admin:Pa55-w0rd@old.example:6379"\nto: ""\npageSize: lots\n');

    const { code, stdout, stderr } = await cli('--config', path, 'move', '--dry-run');

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(`${path}: from: http://admin:***@old.example:6379: the scheme must be redis:// or rediss:// (TLS), not http://; nor is it a store name of redisYml (a letter, then letters, digits, _ or -)\n`);
    expect(stderr).toContain(`${path}: pageSize: the page size must be a whole number in decimal digits, not "lots"\n`);
    // An empty one is said once, as empty (it was said twice, the second time as "not a URL:  (…)").
    expect(stderr).toContain(`${path}: to: a Redis URL: redis://[user:password@]host[:port][/db] or rediss://… (TLS), or a store name of redisYml, not empty\n`);
    expect(stderr.match(/: to: /g)).toHaveLength(1);
    expect(stderr).not.toContain('Pa55-w0rd');
    expect(await server.client().llen('queue:old')).toBe(5);
  });
});
