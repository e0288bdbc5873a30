import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobEntry, jobsIn, withQueue } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { refusedUntouched } from '../support/refused-untouched.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// The configuration file's numbers were YAML's: `pageSize: 0x10` ran with pages of 16, `1e3`,
// `0o17`, `+5` and `.inf` were numbers too, where --page-size 0x10 is refused. The file's numeric
// settings now follow the options' rule (decimal digits), said naming the setting and the file.
const redis = privateSourceAndTarget();
const dir = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-config-numbers-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
writeFileSync(join(dir, 'mapping.json'), JSON.stringify({ A: 'new' }));

const untouched = (run: Parameters<typeof refusedUntouched>[1]) => refusedUntouched(redis, run);

describe('numbers in the configuration file: decimal digits, as the options', { timeout: 120_000 }, () => {
  it('run: pageSize: 0x10 is refused naming the setting and the file (it ran with pages of 16)', async () => {
    const config = file('hex.yml', `redis: ${redis.urls().source}\npageSize: 0x10\nrouting:\n  mapping: mapping.json\n`);

    const { stderr } = await untouched(() => runCli('--config', config, 'run'));

    expect(stderr).toBe(`${config}: pageSize: the page size must be a whole number in decimal digits, not "0x10"\n`);
  });

  it('move: 1e3, +1, .inf and 0o17 in YAML, each named', async () => {
    const config = file('move.yml', `from: ${redis.urls().source}\nto: ${redis.urls().target}\nrateLimit: 1e3\nfromReplicas: +1\ntoReplicas: 0o17\npageSize: .inf\n`);

    const { stderr } = await untouched(() => runCli('--config', config, 'move'));

    expect(stderr).toBe(
      'Invalid options:\n' +
        `  - ${config}: pageSize: the page size must be a whole number in decimal digits, not ".inf"\n` +
        `  - ${config}: rateLimit: the rate limit must be a whole number in decimal digits, not "1e3"\n` +
        `  - ${config}: fromReplicas: the replica count must be a whole number in decimal digits, not "+1"\n` +
        `  - ${config}: toReplicas: the replica count must be a whole number in decimal digits, not "0o17"\n`,
    );
  });

  it('drain-check: a JSON configuration file with "timeLimit": 6e2', async () => {
    const config = file('drain.json', `{"redis": "${redis.urls().source}", "timeLimit": 6e2}`);

    const { stderr } = await untouched(() => runCli('--config', config, 'drain-check'));

    expect(stderr).toBe(`${config}: timeLimit: the seconds drain-check may take must be a whole number in decimal digits, not "6e2"\n`);
  });

  it('plain decimal numbers are still numbers: pageSize: 500 with a bad option says only the option', async () => {
    const config = file('plain.yml', `redis: ${redis.urls().source}\npageSize: 500\nrouting:\n  mapping: mapping.json\n`);

    const { stderr } = await untouched(() => runCli('--config', config, 'run', '--unmapped', 'sometimes'));

    expect(stderr).toBe(`Using configuration file ${config} (--config)\n--unmapped: must be leave or quarantine\n`);
  });
  it('a rename mapping\'s queue names as written: routing.rename {010: q_new, 1.50: r} renames queues "010" and "1.50", not "10" and "1.5"', async () => {
    const config = file('rename.yml', `redis: ${redis.urls().source}\nrouting:\n  rename:\n    010: q_new\n    1.50: r\n`);
    const jobs = { '010': sidekiqPayload({ className: 'A', queue: '010', args: '[1]' }), '10': sidekiqPayload({ className: 'A', queue: '10', args: '[2]' }), '1.50': sidekiqPayload({ className: 'A', queue: '1.50', args: '[3]' }), '1.5': sidekiqPayload({ className: 'A', queue: '1.5', args: '[4]' }) };
    for (const [queue, payload] of Object.entries(jobs)) {
      await redis.source().rpush(`queue:${queue}`, payload);
      await redis.source().sadd('queues', queue);
    }

    const result = await runCli('--config', config, 'run');

    expect(result.code, result.stderr).toBe(0);
    expect(await jobsIn(redis.source())).toEqual(
      [jobEntry('queue:q_new', withQueue(jobs['010'], '010', 'q_new')), jobEntry('queue:10', jobs['10']), jobEntry('queue:r', withQueue(jobs['1.50'], '1.50', 'r')), jobEntry('queue:1.5', jobs['1.5'])].sort(),
    );
  });
});
