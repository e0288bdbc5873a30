import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';

// A configuration file serves several commands: its routing (catalog and rules) is `run`'s and
// `move`'s, and drain-check reads it only for a selection (--classes, --classes-file, --store).
// validateConfigAndFiles came to read every file the options name once the options passed
// (92da2c65), so that a drain-check without a selection was refused (exit 2) over rules files it
// never reads, where it had checked the Redis (and read a large catalog twice for nothing).
const redis = privateRedis();
const dir = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-drain-config-routing-'));
const catalog = join(dir, 'gone', 'all_queues.yml');
const rules = join(dir, 'gone', 'gitlab.yml');

const configWithRouting = () => {
  const path = join(dir, 'config.yml');
  writeFileSync(path, `redis: ${redis.url()}\nrouting:\n  catalog: [${catalog}]\n  rules: ${rules}\n`);
  return path;
};

describe("drain-check and the configuration file's routing", { timeout: 60_000 }, () => {
  it('without a selection: the routing files are not read, the check runs', async () => {
    await redis.client().rpush('queue:default', '{"class":"A","queue":"default","jid":"1"}');

    const config = configWithRouting();
    const { code, stdout, stderr } = await runCli('--config', config, 'drain-check');

    expect(stderr).toBe(`Using configuration file ${config} (--config)\n`);
    expect(stdout).toContain(`${redis.url()}: STUCK — 1 job`);
    expect(code).toBe(3);
  });

  it('with a selection: the routing is read, and its missing catalog refused', async () => {
    const { code, stdout, stderr } = await runCli('--config', configWithRouting(), 'drain-check', '--classes', 'A');

    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toContain(`Cannot read the worker catalog ${catalog}: no such file`);
  });
});
