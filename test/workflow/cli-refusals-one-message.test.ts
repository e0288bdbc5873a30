import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { TEST_CA_FILE } from '../support/redis-server.js';
import { refusedUntouched } from '../support/refused-untouched.js';
import { runCli } from '../support/run-cli.js';

// Refusals that compare validated values (a CA for redis:// URLs, --cron with a selection, a store
// redis.yml does not define) came as a second round: the options' problems were said, and only once
// they were fixed the refusal. One message now says both, exit 2, nothing touched.
const redis = privateSourceAndTarget();
const dir = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-refusals-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const untouched = (run: Parameters<typeof refusedUntouched>[1]) => refusedUntouched(redis, run);

const noTls = (option: string, url: string) => `${option} ${TEST_CA_FILE}: ${url} does not use TLS (redis://), so no CA is used: give its rediss:// URL, or leave ${option} out`;
const CRON = '--cron copies every sidekiq-cron definition of the source, not only the selected classes: with --classes, --classes-file or --store each schedule would push from both Redis servers. Leave the definitions where they are, or copy them with a move of every class. Nothing was touched.';

describe('refusals of validated values, said with the other problems', { timeout: 120_000 }, () => {
  it('run: --tls-ca for a redis:// URL and a bad --page-size', async () => {
    const { stderr } = await untouched(() => runCli('run', '--redis', redis.urls().source, '--rename', 'q=new', '--tls-ca', TEST_CA_FILE, '--page-size', '0'));

    expect(stderr).toBe(`Invalid options and files:\n  - --page-size: the page size must be positive\n  - ${noTls('--tls-ca', redis.urls().source)}\n`);
  });

  it('run: --tls-ca for a redis:// URL and a mapping file that does not parse (the options valid)', async () => {
    const mapping = file('bad-mapping.json', '{"A": 3}');
    const { stderr } = await untouched(() => runCli('run', '--redis', redis.urls().source, '--mapping', mapping, '--tls-ca', TEST_CA_FILE));

    expect(stderr).toBe(`Invalid options and files:\n  - ${mapping}: invalid class mapping:\n      - A: the queue must be a non-empty string, got 3\n  - ${noTls('--tls-ca', redis.urls().source)}\n`);
  });

  it('move: --cron with --classes and a bad --rate-limit', async () => {
    const { stderr } = await untouched(() => runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--classes', 'A', '--cron', '--rate-limit', 'x'));

    expect(stderr).toBe(`Invalid options:\n  - --rate-limit: the rate limit must be a whole number in decimal digits, not "x"\n  - ${CRON}\n`);
  });

  it('move: a store redis.yml does not define, --to-tls-ca for a redis:// URL and a bad --page-size', async () => {
    const yml = file('redis.yml', `production:\n  url: "${redis.urls().source}"\n  queues_shard_catchall_b:\n    url: "${redis.urls().target}"\n`);
    const { stderr } = await untouched(() =>
      runCli('move', '--redis-yml', yml, '--from', 'main', '--to', 'queues_shard_nope', '--classes', 'A', '--from-tls-ca', TEST_CA_FILE, '--page-size', '0x10'),
    );

    expect(stderr).toBe(
      'Invalid options and files:\n' +
        '  - --page-size: the page size must be a whole number in decimal digits, not "0x10"\n' +
        `  - --to queues_shard_nope: ${yml} defines no store queues_shard_nope; it has: main, queues_shard_catchall_b\n` +
        `  - ${noTls('--from-tls-ca', redis.urls().source)}\n`,
    );
  });

  it('move: a store redis.yml does not define and --cron with a selection, the options otherwise valid', async () => {
    const yml = file('redis-2.yml', `production:\n  url: "${redis.urls().source}"\n`);
    const { stderr } = await untouched(() => runCli('move', '--redis-yml', yml, '--from', 'main', '--to', 'queues_shard_nope', '--classes', 'A', '--cron'));

    expect(stderr).toBe(`Invalid options and files:\n  - ${CRON}\n  - --to queues_shard_nope: ${yml} defines no store queues_shard_nope; it has: main\n`);
  });

  it('drain-check: --tls-ca for a redis:// URL and a bad --time-limit', async () => {
    const { stderr } = await untouched(() => runCli('drain-check', '--redis', redis.urls().source, '--tls-ca', TEST_CA_FILE, '--time-limit', '0x1'));

    expect(stderr).toBe(`Invalid options and files:\n  - --time-limit: the seconds the check may take must be a whole number in decimal digits, not "0x1"\n  - ${noTls('--tls-ca', redis.urls().source)}\n`);
  });

  it('rollback: --tls-ca for a redis:// URL, or a CA file missing, and a bad --page-size', async () => {
    const missing = join(dir, 'missing-ca.pem');
    const noTlsResult = await untouched(() => runCli('rollback', 'reroute-1', '--redis', redis.urls().source, '--tls-ca', TEST_CA_FILE, '--page-size', '0'));
    const missingResult = await untouched(() => runCli('rollback', 'reroute-1', '--redis', redis.urls().source.replace('redis://', 'rediss://'), '--tls-ca', missing, '--page-size', '0'));

    expect(noTlsResult.stderr).toBe(`Invalid options and files:\n  - --page-size: the page size must be positive\n  - ${noTls('--tls-ca', redis.urls().source)}\n`);
    expect(missingResult.stderr).toBe(`Invalid options and files:\n  - --page-size: the page size must be positive\n  - Cannot read the CA certificate file ${missing}: no such file\n`);
  });

  // With the options valid, the files they name were read one by one as the command went on: the
  // first missing file was said, the next only once it was fixed (audit-badwords). All together now.
  it('run: a missing mapping and a missing CA file, the options valid: both named', async () => {
    const mapping = join(dir, 'missing-mapping.json');
    const ca = join(dir, 'missing-run-ca.pem');
    const { stderr } = await untouched(() => runCli('run', '--redis', redis.urls().source.replace('redis://', 'rediss://'), '--mapping', mapping, '--tls-ca', ca));

    expect(stderr).toBe(`Invalid options and files:\n  - Cannot read the class mapping file ${mapping}: no such file\n  - Cannot read the CA certificate file ${ca}: no such file\n`);
  });

  it('move: a missing classes file and a missing mapping, the options valid: both named', async () => {
    const classes = join(dir, 'missing-classes.json');
    const mapping = join(dir, 'missing-move-mapping.json');
    const { stderr } = await untouched(() => runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--classes-file', classes, '--mapping', mapping));

    expect(stderr).toBe(`Invalid options and files:\n  - Cannot read the class mapping file ${mapping}: no such file\n  - Cannot read the classes file ${classes}: no such file\n`);
  });

  it('drain-check: a missing classes file, a missing --previous and a directory as --save, the options valid: all three named', async () => {
    const classes = join(dir, 'missing-drain-classes.json');
    const previous = join(dir, 'missing-previous.json');
    const { stderr } = await untouched(() => runCli('drain-check', '--redis', redis.urls().source, '--classes-file', classes, '--previous', previous, '--save', dir));

    expect(stderr).toBe(
      'Invalid options and files:\n' +
        `  - Cannot read the classes file ${classes}: no such file\n` +
        `  - Cannot read the previous drain report ${previous}: no such file\n` +
        `  - Cannot write the drain report to ${dir}: it is a directory\n`,
    );
  });

  // `--config "$CONFIG"` with the variable unset resolved '' to the current directory: "Cannot read
  // the configuration file /home/me: it is a directory", naming neither the option nor the cause.
  it("--config '': named as empty, not read as the current directory", async () => {
    const { stderr } = await untouched(() => runCli('--config', '', 'run', '--redis', redis.urls().source, '--rename', 'q=new'));

    expect(stderr).toBe('--config: a path to the configuration file, not empty (leave --config out to use $SIDEKIQ_MIGRATE_CONFIG or the sidekiq-migrate.config.* of the current directory). Nothing was touched.\n');
  });

  // --strict and --environment were taken and did nothing without --rules (or, for --environment,
  // move's and drain-check's --redis-yml): a user believing the rules reviewed strictly, or read
  // from the staging section, was told nothing.
  it('run: --strict and --environment without --rules are refused, with a bad option', async () => {
    const { stderr } = await untouched(() => runCli('run', '--redis', redis.urls().source, '--rename', 'q=new', '--strict', '--environment', 'staging', '--page-size', '0'));

    expect(stderr).toBe(
      'Invalid options and files:\n' +
        '  - --page-size: the page size must be positive\n' +
        '  - --strict: only applies with --rules (it refuses rule queries GitLab accepts but that are probably mistakes): add --catalog and --rules, or leave --strict out\n' +
        '  - --environment: only applies with --rules (the gitlab.yml section to read them from): add --catalog and --rules, or leave --environment out\n',
    );
  });

  it('move and drain-check: --environment without --rules or --redis-yml is refused; with --redis-yml it picks the section', async () => {
    const yml = file('redis-env.yml', `staging:\n  url: "${redis.urls().source}"\n`);
    const alone = await untouched(() => runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--environment', 'staging'));
    const drain = await untouched(() => runCli('drain-check', '--redis', redis.urls().source, '--environment', 'staging'));
    const withYml = await runCli('drain-check', '--redis-yml', yml, '--redis', 'main', '--environment', 'staging', '--json');

    const words = '--environment: only applies with --rules or --redis-yml (the gitlab.yml or redis.yml section to read): add them, or leave --environment out\n';
    expect(alone.stderr).toBe(words);
    expect(drain.stderr).toBe(words);
    expect(withYml.stderr).not.toContain('--environment');
    expect(JSON.parse(withYml.stdout)).toMatchObject({ redis: expect.any(String) });
  });

  // --verbose lists every set and queue in the words of a summary; --json prints them all already,
  // and no words: --verbose was taken and did nothing.
  it('run, move and rollback: --verbose with --json is refused, with the other problems', async () => {
    const words = '--verbose: does nothing with --json (its JSON names every set and queue already): leave --verbose or --json out';
    const run = await untouched(() => runCli('run', '--redis', redis.urls().source, '--rename', 'q=new', '--json', '--verbose'));
    const move = await untouched(() => runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--json', '--verbose', '--page-size', '0'));
    const rollback = await untouched(() => runCli('rollback', 'reroute-1', '--redis', redis.urls().source, '--json', '--verbose'));

    expect(run.stderr).toBe(`${words}\n`);
    expect(move.stderr).toBe(`Invalid options:\n  - --page-size: the page size must be positive\n  - ${words}\n`);
    expect(rollback.stderr).toBe(`${words}\n`);
  });
});
