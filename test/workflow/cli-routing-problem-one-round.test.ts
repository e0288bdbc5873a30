// A selection or routing the options alone decide is wrong (a --store no rule names, a
// --classes-file mapping beside --rules) was said only in a second round once the options' other
// problems were fixed (audit-review2): the early refusals (audit-input) caught its InputError and
// said nothing. Now said with them, once, before anything connects; alone, it is said as before.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { bufferIo } from '../support/buffer-io.js';
import { FakeStepFunctions, REGION, STATE_MACHINE_ARN } from '../support/fake-step-functions.js';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { refusingEndpoint } from '../support/refusing-endpoint.js';
import { repoPath } from '../support/paths.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { tempFileWriter } from '../support/temp-files.js';

const redis = privateSourceAndTarget();
const file = tempFileWriter('cli-routing-problem-one-round-');
const CATALOG = repoPath('test/fixtures/gitlab/all_queues.yml');
const RULES = repoPath('test/fixtures/routing/rules.json');
const NO_STORE = `--store nosuch: no worker's first matching rule in ${RULES} sends it to store nosuch, so nothing is selected (no rule names a store; main: workers whose rule names none).`;
const STACK_AND_MACHINE = '--stack: not with a state machine given (--state-machine, aws.stateMachine or $SIDEKIQ_MIGRATE_STATE_MACHINE), which is used as it is (the stack is only read to find it): leave one out';
const PASSWORD = '--password: each Redis has its own here (--from-password, --to-password, or their variables), so it is used for neither: leave --password out';

describe('a selection the options decide is wrong is said with their other problems', { timeout: 120_000 }, () => {
  it('move --store naming no store, with --password beside both ends\' own and a bad --page-size: one message, nothing tried, nothing touched', async () => {
    const job = sidekiqPayload({ className: 'A', queue: 'default', args: '[1]', jid: '000000000000000000000001' });
    await redis.source().rpush('queue:default', job);
    await redis.source().sadd('queues', 'default');
    const before = await keyValueSnapshot(redis.source());
    const endpoint = await refusingEndpoint();
    try {
      const withPassword = await runCli('move', '--from', endpoint.url, '--to', redis.urls().target, '--catalog', CATALOG, '--rules', RULES, '--store', 'nosuch', '--password', 'x', '--from-password', 'a', '--to-password', 'b', '--dry-run');
      expect(withPassword.code, withPassword.stderr).toBe(2);
      expect(withPassword.stdout).toBe('');
      expect(withPassword.stderr).toBe(`Invalid options and files:\n  - ${PASSWORD}\n  - ${NO_STORE}\n`);

      const withPageSize = await runCli('move', '--from', endpoint.url, '--to', redis.urls().target, '--catalog', CATALOG, '--rules', RULES, '--store', 'nosuch', '--page-size', '0');
      expect(withPageSize.code, withPageSize.stderr).toBe(2);
      expect(withPageSize.stderr).toBe(`Invalid options and files:\n  - --page-size: the page size must be positive\n  - ${NO_STORE}\n`);

      // Alone: said as before, in its own words.
      const alone = await runCli('move', '--from', endpoint.url, '--to', redis.urls().target, '--catalog', CATALOG, '--rules', RULES, '--store', 'nosuch');
      expect(alone.code, alone.stderr).toBe(2);
      expect(alone.stderr).toBe(`${NO_STORE}\n`);
      expect(endpoint.attempts()).toBe(0);
      expect(await keyValueSnapshot(redis.source())).toEqual(before);
    } finally {
      await endpoint.close();
    }
  });

  it('a bad mapping file beside another refusal is said once, not twice', async () => {
    const bad = file('bad.json', '{"a": ""}');
    const result = await runCli('run', '--redis', redis.urls().source, '--mapping', bad, '--no-queues', '--append');
    expect(result.code, result.stderr).toBe(2);
    const lines = result.stderr.split('\n').filter((l) => l.includes('invalid class mapping'));
    expect(lines).toHaveLength(1);
  });
});

describe('start: a selection the options decide is wrong is said with their other problems, before any AWS call', () => {
  let fake: FakeStepFunctions;
  beforeEach(() => {
    process.env['AWS_REGION'] = REGION;
    fake = new FakeStepFunctions();
  });
  afterEach(() => fake.restore());
  const cli = async (...args: string[]) => {
    const io = bufferIo();
    const code = await main(['node', 'sidekiq-migrate', ...args], io, undefined, { sleep: fake.sleep, now: fake.now });
    return { code, stdout: io.stdout(), stderr: io.stderr() };
  };

  it('start --mode transfer --store naming no store, with --stack beside --state-machine: one message; alone, as before', async () => {
    const both = await cli('start', '--mode', 'transfer', '--catalog', CATALOG, '--rules', RULES, '--store', 'nosuch', '--state-machine', STATE_MACHINE_ARN, '--stack', 'SidekiqMigrate');
    expect(both.code, both.stderr).toBe(2);
    expect(both.stderr).toBe(`Invalid options and files:\n  - ${STACK_AND_MACHINE}\n  - ${NO_STORE}\n`);
    const alone = await cli('start', '--mode', 'transfer', '--catalog', CATALOG, '--rules', RULES, '--store', 'nosuch', '--state-machine', STATE_MACHINE_ARN);
    expect(alone.code, alone.stderr).toBe(2);
    expect(alone.stderr).toBe(`${NO_STORE}\n`);
    expect(fake.calls('StartExecution') + fake.calls('ListExecutions') + fake.calls('DescribeExecution')).toBe(0);
  });
});

describe('--append typed where the configuration file turns the queue lists off', { timeout: 120_000 }, () => {
  it('run --append with `queues: false` in the file: the refusal names the file\'s setting, not a --no-queues nobody typed; nothing tried', async () => {
    const endpoint = await refusingEndpoint();
    try {
      const config = file('q.yaml', 'queues: false\n');
      const result = await runCli('--config', config, 'run', '--redis', endpoint.url, '--rename', 'a=b', '--append', '--unmapped', 'quarantine');
      expect(result.code, result.stderr).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain(
        "--append: only applies to queue lists (it queues the jobs moved off a queue behind the destination's backlog), and `queues: false` (the configuration file) leaves them alone: set entries stay in their set. Leave --append out, or give --queues",
      );
      expect(result.stderr).toContain('--unmapped quarantine: only queued jobs are quarantined (unmapped entries of the sets stay in their set, counted), and `queues: false` (the configuration file) leaves the queue lists alone. Leave --unmapped out, or give --queues');
      expect(result.stderr).not.toContain('--no-queues');
      expect(endpoint.attempts()).toBe(0);
    } finally {
      await endpoint.close();
    }
  });
});

describe('drain-check: --environment (or --strict) with a catalog and no selection', { timeout: 120_000 }, () => {
  it('is named once, with the one advice that helps (a selection), not also "add --rules", which would be refused next; nothing tried', async () => {
    const endpoint = await refusingEndpoint();
    try {
      const result = await runCli('drain-check', '--redis', endpoint.url, '--environment', 'staging', '--strict', '--catalog', CATALOG);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        'Invalid options and files:\n' +
          '  - --rules: a catalog needs routing rules\n' +
          '  - --catalog, --strict, --environment: only apply with a selection of classes (--store, --classes or --classes-file): without one the check reads no routing rules. Add a selection, or leave them out\n',
      );
      expect(endpoint.attempts()).toBe(0);
    } finally {
      await endpoint.close();
    }
  });

  it('--strict typed alone (no catalog, rules or selection): the advice that helps (a selection), not "add --catalog and --rules", which would be refused next; nothing tried', async () => {
    const endpoint = await refusingEndpoint();
    try {
      const result = await runCli('drain-check', '--redis', endpoint.url, '--strict');
      expect(result.code, result.stderr).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe('--strict: only applies with a selection of classes (--store, --classes or --classes-file): without one the check reads no routing rules. Add a selection, or leave it out\n');
      expect(endpoint.attempts()).toBe(0);
    } finally {
      await endpoint.close();
    }
  });
});
