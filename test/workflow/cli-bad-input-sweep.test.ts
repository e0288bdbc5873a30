import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { refusedUntouched } from '../support/refused-untouched.js';
import { runCli } from '../support/run-cli.js';

// A sweep of bad input over the commands, options, configuration file and environment
// (audit-badinput): each case one message naming what and where, exit 2, nothing touched.
const redis = privateSourceAndTarget();
const dir = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-bad-input-'));
const file = (name: string, text: string | Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
writeFileSync(join(dir, 'mapping.json'), JSON.stringify({ A: 'new' }));

const untouched = (run: Parameters<typeof refusedUntouched>[1]) => refusedUntouched(redis, run);

describe('bad input: one message naming what and where, exit 2, nothing touched', { timeout: 120_000 }, () => {
  // zod checks a string's length on a list too: `redis: []` was said twice, once for the type and
  // once for the length (`from: []` twice, in two different words).
  it('a configuration file with an empty list for a text setting says its problem once', async () => {
    const config = file('lists.yml', `redis: []\ntlsCa: []\nrouting:\n  mapping: mapping.json\n`);
    const move = file('move-lists.yml', `from: []\nto: ${redis.urls().target}\n`);

    const run = await untouched(() => runCli('--config', config, 'run'));
    const moved = await untouched(() => runCli('--config', move, 'move'));

    expect(run.stderr).toBe(
      'Invalid options:\n' +
        `  - ${config}: redis: a Redis URL: redis://[user:password@]host[:port][/db] or rediss://… (TLS)\n` +
        `  - ${config}: tlsCa: the CA certificate(s): a file path\n`,
    );
    expect(moved.stderr).toBe(`${move}: from: a Redis URL: redis://[user:password@]host[:port][/db] or rediss://… (TLS), or a store name of redisYml\n`);
  });
});
