import { describe, expect, it } from 'vitest';
import { expectExactJobs, jobEntry, keyValueSnapshot, withQueue } from '../support/exact-jobs.js';
import { CE_CATALOG } from '../support/paths.js';
import { privateRedis } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';
import { tempFileWriter } from '../support/temp-files.js';

// Rules that GitLab reads one way and a re-route read another: checked at the command line by the
// jobs the Redis holds after `run`, against what GitLab (its settings, its WorkerMatcher) does.

const redis = privateRedis();
const file = tempFileWriter('cli-gitlab-rules-parity-');

/** A PostReceive job on its generated queue and an AdminEmailWorker job on its own, seeded. */
async function seedTwoJobs() {
  const client = redis.client();
  const post = sidekiqPayload({ className: 'PostReceive', queue: 'post_receive', args: '[1]' });
  const admin = sidekiqPayload({ className: 'AdminEmailWorker', queue: 'cronjob:admin_email', args: '[2]' });
  await client.rpush('queue:post_receive', post);
  await client.rpush('queue:cronjob:admin_email', admin);
  await client.sadd('queues', 'post_receive', 'cronjob:admin_email');
  return { client, post, admin };
}

describe('routing_rules GitLab takes as "none configured"', () => {
  // GitLab's settings (build_sidekiq_routing_rules) substitute [["*", "default"]] when the rules
  // are nil or `empty?`: an empty string and an empty mapping are empty too. We refused both
  // ("The set of routing rule must be an array", exit 2) while GitLab sent every job to default.
  it.each([
    ['an empty string', '""'],
    ['an empty mapping', '{}'],
  ])('routing_rules: %s in gitlab.yml routes every worker to default, as GitLab does, and says the default applies', async (_case, value) => {
    const rules = file(`empty-${value.length}.yml`, `production:\n  sidekiq:\n    routing_rules: ${value}\n`);
    const { client, post, admin } = await seedTwoJobs();

    const result = await runCli('run', '--redis', redis.url(), '--catalog', CE_CATALOG, '--rules', rules);

    expect(result.stderr).toContain('No routing rules are configured: GitLab uses [["*", "default"]], so every worker goes to default.');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Complete');
    await expectExactJobs(client, '', [
      jobEntry('queue:default', withQueue(post, 'post_receive', 'default')),
      jobEntry('queue:default', withQueue(admin, 'cronjob:admin_email', 'default')),
    ]);
  });
});

describe('a wildcard query with NUL bytes around it', () => {
  // GitLab's WorkerMatcher takes a query whose String#strip is "*" for the wildcard; Ruby's strip
  // removes NUL at both ends (Ruby 3: "\0*".strip == "*"), ours removed it at the end only, and
  // refused "\u0000*" as an invalid term where GitLab routes every worker by it.
  it('"\\u0000*" is the wildcard, as in GitLab: every worker goes to its queue', async () => {
    const rules = file('nul-wildcard.json', '[["\\u0000*", "default"]]');
    const { client, post, admin } = await seedTwoJobs();

    const result = await runCli('run', '--redis', redis.url(), '--catalog', CE_CATALOG, '--rules', rules);

    expect(result.stderr).not.toContain('Invalid term');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Complete');
    await expectExactJobs(client, '', [
      jobEntry('queue:default', withQueue(post, 'post_receive', 'default')),
      jobEntry('queue:default', withQueue(admin, 'cronjob:admin_email', 'default')),
    ]);
  });
});

describe('a rule that names a Redis store', () => {
  // A re-route works inside the one Redis it is given, as GitLab's migrate_jobs tasks do on its
  // main store: a rule's third element is not used. It went unsaid, although the routing-change
  // runbook told the operator the review warns about it; and once GitLab routes the class to the
  // store, its jobs moved to that queue on the main Redis are where no shard's Sidekiq fetches.
  it('run moves the jobs to the rule\'s queue on this Redis, and warns that the store is not used, naming the rule, its workers and move --store', async () => {
    const rules = file('store.yml', '- ["worker_name=PostReceive", "urgent", "queues_shard_b"]\n- ["*", "default"]\n');
    const { client, post, admin } = await seedTwoJobs();

    const result = await runCli('run', '--redis', redis.url(), '--catalog', CE_CATALOG, '--rules', rules);

    expect(result.stderr).toContain(
      'warning: Rule 1 ["worker_name=PostReceive","urgent","queues_shard_b"] names the Redis store queues_shard_b, which a re-route does not use: ' +
        'the jobs of its 1 worker(s) go to the queue urgent on the Redis this command writes to, as GitLab\'s migrate_jobs tasks do on its main store. ' +
        'Once GitLab routes them to queues_shard_b (feature flag sidekiq_route_to_queues_shard_b), carry them there with move --store queues_shard_b (docs/runbooks/sidekiq-shard.md).\n',
    );
    expect(result.code).toBe(0);
    await expectExactJobs(client, '', [
      jobEntry('queue:urgent', withQueue(post, 'post_receive', 'urgent')),
      jobEntry('queue:default', withQueue(admin, 'cronjob:admin_email', 'default')),
    ]);
  });

  it('no such warning for a store named main or empty (GitLab\'s default instance)', async () => {
    const rules = file('main-store.yml', '- ["worker_name=PostReceive", "urgent", "main"]\n- ["*", "default", ""]\n');
    const { client, post, admin } = await seedTwoJobs();

    const result = await runCli('run', '--redis', redis.url(), '--catalog', CE_CATALOG, '--rules', rules);

    expect(result.stderr).not.toContain('store');
    expect(result.code).toBe(0);
    await expectExactJobs(client, '', [
      jobEntry('queue:urgent', withQueue(post, 'post_receive', 'urgent')),
      jobEntry('queue:default', withQueue(admin, 'cronjob:admin_email', 'default')),
    ]);
  });
});

describe('a rule value YAML 1.1 reads otherwise than YAML 1.2', () => {
  // GitLab reads gitlab.yml with Psych, a YAML 1.1 parser: a plain `no`, `off`, `on` or `yes` is a
  // boolean there (false: the generated queue name; true: the queue "true"), `1_000` the integer
  // 1000, `017` the integer 15. We read YAML 1.2, where they are the strings "no", "on"… or 17, and
  // moved every high-urgency job to a queue named "no" that GitLab never pushes to, without a word.
  it.each([
    ['no', 'false', '"no"'],
    ['on', 'true', '"on"'],
    ['1_000', '1000', '"1_000"'],
  ])('a plain %s as a queue is refused, naming the rule, both readings, and how to write it; nothing touched', async (value, psych, yaml12) => {
    const rules = file(`yaml11-${value}.yml`, `production:\n  sidekiq:\n    routing_rules:\n      - ["urgency=high", ${value}]\n      - ["*", "default"]\n`);
    const { client } = await seedTwoJobs();
    const before = await keyValueSnapshot(client);

    const result = await runCli('run', '--redis', redis.url(), '--catalog', CE_CATALOG, '--rules', rules);

    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(
      `its queue reads as ${yaml12} in YAML 1.2 but as ${psych} in GitLab's YAML 1.1: quote it (${yaml12}) for a queue of that name, or write null for the worker's generated queue name`,
    );
    expect(result.stderr).toContain(`(in routing rule 1 of ${rules} production.sidekiq.routing_rules)`);
    expect(result.code).toBe(2);
    expect(await keyValueSnapshot(client)).toEqual(before);
  });

  // The yaml package's YAML 1.1 schema is not Psych: Psych reads a float only with a "." and a
  // signed exponent (`1e3` is the String "1e3", `1.0e+3` the Float 1000.0, whose queue name is
  // "1000.0"), an integer with commas (`1,000` is 1000), and a plain `:sym` as the Symbol :sym
  // (inside [ ] not at all). Both our readings agreed on 1000, ":sym"…, and the jobs went to
  // queues GitLab never pushes to, without a word.
  // In a block list, as `1,000` must be written (in [ ] its comma splits it in two for both parsers).
  const block = (value: string) => `- "urgency=high"\n        - ${value}`;
  it.each([
    ['1e3', '["urgency=high", 1e3]', '"1e3"', '1000', 'quote it ("1e3") for a queue of that name'],
    ['1,000', block('1,000'), '1000', '"1,000"', 'quote it ("1,000") for a queue of that name'],
    ['1.0e+3', '["urgency=high", 1.0e+3]', '1000.0', '1000', 'quote it ("1.0e+3") for a queue of that name'],
    [':sym', block(':sym'), 'the Symbol :sym (inside [ ], a syntax error)', '":sym"', 'quote it (":sym") for a queue of that name'],
    [':sym in [ ]', '["urgency=high", :sym]', 'the Symbol :sym (inside [ ], a syntax error)', '":sym"', 'quote it (":sym") for a queue of that name'],
  ])('a plain %s as a queue, read otherwise by GitLab\'s Psych, is refused naming both readings; nothing touched', async (value, rule, psych, yaml12, advice) => {
    const rules = file(`psych-${value.replace(/\W/g, '_')}.yml`, `production:\n  sidekiq:\n    routing_rules:\n      - ${rule}\n      - ["*", "default"]\n`);
    const { client } = await seedTwoJobs();
    const before = await keyValueSnapshot(client);

    const result = await runCli('run', '--redis', redis.url(), '--catalog', CE_CATALOG, '--rules', rules);

    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(
      `its queue reads as ${yaml12} in YAML 1.2 but as ${psych} in GitLab's YAML 1.1: ${advice}, or write null for the worker's generated queue name`,
    );
    expect(result.stderr).toContain(`(in routing rule 1 of ${rules} production.sidekiq.routing_rules)`);
    expect(result.code).toBe(2);
    expect(await keyValueSnapshot(client)).toEqual(before);
  });

  it('a plain :sym query in a block list (a Symbol to Psych, on which GitLab\'s matcher fails) is refused, naming where; nothing touched', async () => {
    const rules = file('psych-sym-query.yml', '- - :sym\n  - default\n');
    const { client } = await seedTwoJobs();
    const before = await keyValueSnapshot(client);

    const result = await runCli('run', '--redis', redis.url(), '--catalog', CE_CATALOG, '--rules', rules);

    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('its query reads as ":sym" in YAML 1.2 but as the Symbol :sym (inside [ ], a syntax error) in GitLab\'s YAML 1.1: quote it (":sym") as you mean it');
    expect(result.stderr).toContain(`(in routing rule 1 of ${rules})`);
    expect(result.code).toBe(2);
    expect(await keyValueSnapshot(client)).toEqual(before);
  });

  it('a plain 1__0, a String to Psych as to YAML 1.2 (not a number as the YAML 1.1 spec has it), is the queue "1__0", as in GitLab', async () => {
    const rules = file('psych-1__0.yml', '- ["worker_name=PostReceive", 1__0]\n- ["*", "default"]\n');
    const { client, post, admin } = await seedTwoJobs();

    const result = await runCli('run', '--redis', redis.url(), '--catalog', CE_CATALOG, '--rules', rules);

    expect(result.stderr).not.toContain('Routing rule');
    expect(result.code).toBe(0);
    await expectExactJobs(client, '', [
      jobEntry('queue:1__0', withQueue(post, 'post_receive', '1__0')),
      jobEntry('queue:default', withQueue(admin, 'cronjob:admin_email', 'default')),
    ]);
  });

  it('quoted, the same names are queue names in both, and route as in GitLab', async () => {
    const rules = file('yaml11-quoted.yml', '- ["worker_name=PostReceive", "no"]\n- ["*", \'on\']\n');
    const { client, post, admin } = await seedTwoJobs();

    const result = await runCli('run', '--redis', redis.url(), '--catalog', CE_CATALOG, '--rules', rules);

    expect(result.code).toBe(0);
    await expectExactJobs(client, '', [
      jobEntry('queue:no', withQueue(post, 'post_receive', 'no')),
      jobEntry('queue:on', withQueue(admin, 'cronjob:admin_email', 'on')),
    ]);
  });
});

describe('a catalog entry whose attribute is a String where GitLab writes a Symbol', () => {
  // GitLab's router matches a worker's runtime attributes, always Symbols (:high, [:cronjob_child]);
  // its generated all_queues.yml writes them so. An entry written `:urgency: high` (a String, as a
  // hand-written or re-emitted catalog may have it) matched no `urgency=high` rule here, so its
  // jobs silently took a later rule (`*` → default) where GitLab sends them to `high`.
  it('is refused, naming the file, the entry, the field and how to write it; nothing touched', async () => {
    const catalog = file(
      'string-atoms.yml',
      '- :name: urgent_one\n  :worker_name: UrgentOneWorker\n  :feature_category: :team_planning\n  :has_external_dependencies: false\n' +
        '  :urgency: high\n  :resource_boundary: :unknown\n  :weight: 1\n  :idempotent: true\n  :tags: []\n  :queue_namespace:\n',
    );
    const rules = file('urgent.yml', '- ["urgency=high", "high"]\n- ["*", "default"]\n');
    const client = redis.client();
    await client.rpush('queue:urgent_one', sidekiqPayload({ className: 'UrgentOneWorker', queue: 'urgent_one', args: '[1]' }));
    await client.sadd('queues', 'urgent_one');
    const before = await keyValueSnapshot(client);

    const result = await runCli('run', '--redis', redis.url(), '--catalog', catalog, '--rules', rules);

    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'string-atoms.yml entry 1 (name "urgent_one"): :urgency: is the String "high", which no query matches: GitLab\'s router compares Symbols (its generated all_queues.yml writes :high); write :high\n',
    );
    expect(result.code).toBe(2);
    expect(await keyValueSnapshot(client)).toEqual(before);
  });
});
