import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
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

  // A blank path, or one with a space at its end (`--mapping "$MAPPING "`), was printed bare:
  // "Cannot read the class mapping file   : no such file", showing no path, or not the space.
  it('a blank path, or one ending in a space, is quoted in the message', async () => {
    const url = redis.urls().source;
    const mapping = await untouched(() => runCli('run', '--redis', url, '--mapping', '  '));
    const ca = await untouched(() => runCli('run', '--redis', url.replace('redis://', 'rediss://'), '--rename', 'q=new', '--tls-ca', '\t'));
    const classes = await untouched(() => runCli('move', '--from', url, '--to', redis.urls().target, '--classes-file', `${join(dir, 'mapping.json')} `));
    const previous = await untouched(() => runCli('drain-check', '--redis', url, '--previous', ' '));
    const save = await untouched(() => runCli('drain-check', '--redis', url, '--save', dir + '/missing/ '));

    expect(mapping.stderr).toBe('Cannot read the class mapping file "  ": no such file\n');
    expect(ca.stderr).toBe('Cannot read the CA certificate file "\\t": no such file\n');
    expect(classes.stderr).toBe(`Cannot read the classes file ${JSON.stringify(`${join(dir, 'mapping.json')} `)}: no such file\n`);
    expect(previous.stderr).toBe('Cannot read the previous drain report " ": no such file\n');
    expect(save.stderr).toBe(`Cannot write the drain report to ${JSON.stringify(`${dir}/missing/ `)}: its directory ${dir}/missing does not exist\n`);
  });

  // 9007199254740993 is past Number.MAX_SAFE_INTEGER: read as 9007199254740992, it was said twice,
  // "must be a whole number" (it is one) and "must be at most 10000". Said once, as too large.
  it('a number past 2^53 is said once, as above the bound, on the command line and in the file', async () => {
    const huge = '9007199254740993';
    const move = await untouched(() => runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--page-size', huge, '--from-replicas', huge));
    const drain = await untouched(() => runCli('drain-check', '--redis', redis.urls().source, '--time-limit', huge));
    const config = file('huge.yml', `redis: ${redis.urls().source}\npageSize: ${huge}\nrouting:\n  mapping: mapping.json\n`);
    const run = await untouched(() => runCli('--config', config, 'run'));

    expect(move.stderr).toBe('Invalid options:\n  - --page-size: the page size must be at most 10000\n  - --from-replicas: the replica count must be at most 100\n');
    expect(drain.stderr).toBe('--time-limit: at most 86400 seconds (a day); give whole seconds, e.g. 600\n');
    expect(run.stderr).toBe(`${config}: pageSize: the page size is at most 10000\n`);
  });
  // --rate-limit had no bound but 2^53: `--rate-limit 99999999` (a slip for 999) was taken, limited
  // nothing (a move runs at ~39–48k jobs/s in all at loopback, bench/README) and yet cost the
  // unlimited run's batching. At most 100000 jobs/s per set or queue now, said naming the option.
  it('--rate-limit and rateLimit above 100000 jobs/s are refused; 100000 runs', async () => {
    const words = 'the rate limit is at most 100000 jobs per second per set or queue (a move is slower than that, so it would limit nothing): leave it out not to limit the move';
    const option = await untouched(() => runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--rate-limit', '100001'));
    const huge = await untouched(() => runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--rate-limit', '9007199254740993'));
    const config = file('rate.yml', `from: ${redis.urls().source}\nto: ${redis.urls().target}\nrateLimit: 99999999\n`);
    const inFile = await untouched(() => runCli('--config', config, 'move'));
    const queued = await redis.source().lrangeBuffer('queue:q', 0, -1);
    const atBound = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--rate-limit', '100000', '--json');

    expect(option.stderr).toBe(`--rate-limit: ${words}\n`);
    expect(huge.stderr).toBe(`--rate-limit: ${words}\n`);
    expect(inFile.stderr).toBe(`${config}: rateLimit: ${words}\n`);
    expect({ code: atBound.code, stderr: atBound.stderr }).toEqual({ code: 0, stderr: '' });
    expect(queued).toHaveLength(3);
    expect(await redis.target().lrangeBuffer('queue:q', 0, -1)).toEqual(queued);
    expect(await redis.source().exists('queue:q')).toBe(0);
  });
  // Port 0 passed the URL's check and was refused by the connection (exit 1, "connect
  // ECONNREFUSED 127.0.0.1"), as if the server were down; a blank URL was printed bare.
  it('a URL with port 0, or a blank one, is refused as bad input naming the option', async () => {
    const portZero = await untouched(() => runCli('run', '--redis', 'redis://127.0.0.1:0', '--rename', 'q=new'));
    const blank = await untouched(() => runCli('run', '--redis', '  ', '--rename', 'q=new'));

    expect(portZero.stderr).toBe('--redis: redis://127.0.0.1:0: the port must be a number from 1 to 65535, not "0"\n');
    expect(blank.stderr).toBe('--redis: not a URL: "  " (expected redis://[user:password@]host[:port][/db] or rediss://… for TLS)\n');
  });
  // A /db past 2^53 was said to be no number ("the database must be a number, not
  // "99999999999999999999""), though it is one: said as too large, with the bound.
  it('a database number too large for Redis is said as such, with the bound', async () => {
    const huge = '99999999999999999999';
    const run = await untouched(() => runCli('run', '--redis', `${redis.urls().source}/${huge}`, '--rename', 'q=new'));
    const move = await untouched(() => runCli('move', '--from', redis.urls().source, '--to', `${redis.urls().target}/${huge}`));

    expect(run.stderr).toBe(`--redis: ${redis.urls().source}/${huge}: the database ${huge} is too large: Redis has at most 2147483647 databases, 0 to 2147483646\n`);
    expect(move.stderr).toBe(`--to: ${redis.urls().target}/${huge}: the database ${huge} is too large: Redis has at most 2147483647 databases, 0 to 2147483646\n`);
  });
  // `--save '  '` wrote the report to a file named with two spaces in the current directory, where
  // a read of such a name is refused: a file to write with a blank name is refused too.
  it('a blank name for a file to write is refused, naming the option', async () => {
    const cwd = process.cwd();
    const blank = await untouched(() => runCli('drain-check', '--redis', redis.urls().source, '--save', '  '));
    const empty = await untouched(() => runCli('drain-check', '--redis', redis.urls().source, '--save', ''));

    expect(blank.stderr).toBe('--save: a path, not blank (where to write this check as JSON)\n');
    expect(empty.stderr).toBe('--save: a path, not empty (where to write this check as JSON)\n');
    expect(existsSync(join(cwd, '  '))).toBe(false);
  });
  // SIDEKIQ_MIGRATE_CONFIG='  ' was read as a file named with blanks in the current directory; the
  // message named no variable. Refused naming it (empty stays as unset, as a shell's VAR= is).
  it('a blank SIDEKIQ_MIGRATE_CONFIG is refused naming the variable', async () => {
    vi.stubEnv('SIDEKIQ_MIGRATE_CONFIG', '  ');
    try {
      const run = await untouched(() => runCli('run', '--redis', redis.urls().source, '--rename', 'q=new'));

      expect(run.stderr).toBe('$SIDEKIQ_MIGRATE_CONFIG: a path to the configuration file, not blank ("  "): set it to the file, or unset it to use the sidekiq-migrate.config.* of the current directory. Nothing was touched.\n');
    } finally {
      vi.unstubAllEnvs();
    }
  });
  // `redis: ${NOPE}`, NOPE set but empty, said "redis: a Redis URL: …", NOPE not named: the file
  // looks right, the setting does not. The variable is named, and that it is empty.
  it('a setting made empty by an empty ${VAR} names the variable', async () => {
    vi.stubEnv('SIDEKIQ_MIGRATE_SWEEP_EMPTY', '');
    try {
      const config = file('empty-var.yml', `redis: \${SIDEKIQ_MIGRATE_SWEEP_EMPTY}\nrouting:\n  mapping: mapping.json\n`);
      const run = await untouched(() => runCli('--config', config, 'run'));

      expect(run.stderr).toBe(`${config}: redis: the environment variable SIDEKIQ_MIGRATE_SWEEP_EMPTY is set but empty; expected a Redis URL: redis://[user:password@]host[:port][/db] or rediss://… (TLS)\n`);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
