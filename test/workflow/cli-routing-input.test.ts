import { describe, expect, it } from 'vitest';
import { expectExactJobs, jobEntry, keyValueSnapshot } from '../support/exact-jobs.js';
import { CE_CATALOG } from '../support/paths.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { runWorkflowLocally } from '../../infra/local/run-workflow-locally.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { tempFileWriter } from '../support/temp-files.js';

// Routing input at the command line: GitLab's own meaning of what a user may write in rules,
// catalogs and renames, checked by the jobs each Redis holds before and after.

const redis = privateSourceAndTarget();
const file = tempFileWriter('cli-routing-input-');

const ADMIN = 'AdminEmailWorker';
const ARCHIVE = 'RepositoryArchiveCacheWorker';

/** Queue old (an AdminEmailWorker job) and queue a (a SomeWorker job) on the source, under `prefix`, both in its `queues`: every key's snapshot. */
async function seedOldAndA(prefix = ''): Promise<Record<string, string>> {
  const source = redis.source();
  await source.rpush(`${prefix}queue:old`, sidekiqPayload({ className: ADMIN, queue: 'old', args: '[1]' }));
  await source.rpush(`${prefix}queue:a`, sidekiqPayload({ className: 'SomeWorker', queue: 'a', args: '[2]' }));
  await source.sadd(`${prefix}queues`, 'old', 'a');
  return keyValueSnapshot(source);
}

/** The same destinations given each way: run --mapping, run --rename, run with routing rules, move --mapping (each with `extra` options). */
async function everyWayOfRouting(given: { mapping: string; rename: string; rules: string; extra?: readonly string[] }): Promise<Record<'mapped' | 'renamed' | 'ruled' | 'moved', Awaited<ReturnType<typeof runCli>>>> {
  const extra = given.extra ?? [];
  const { source, target } = redis.urls();
  return {
    mapped: await runCli('run', '--redis', source, ...extra, '--mapping', given.mapping),
    renamed: await runCli('run', '--redis', source, ...extra, '--rename', given.rename),
    ruled: await runCli('run', '--redis', source, ...extra, '--catalog', CE_CATALOG, '--rules', given.rules),
    moved: await runCli('move', '--from', source, '--to', target, ...extra, '--mapping', given.mapping),
  };
}

describe('routing rules that name stores', () => {
  it('--store main also takes the workers whose first matching rule names the store "main", GitLab\'s name for its default Sidekiq Redis', async () => {
    // GitLab (Gitlab::SidekiqSharding::Router) sends a rule's store "main" to Gitlab::Redis::Queues,
    // exactly as a rule without a store: AdminEmailWorker's jobs now belong on the main Redis.
    const rules = file('explicit-main.yml', `- ["worker_name=${ADMIN}", "default", "main"]\n- ["worker_name=${ARCHIVE}", "default", "queues_shard_catchall_b"]\n- ["*", "default"]\n`);
    const shard = redis.target();
    const admin = [sidekiqPayload({ className: ADMIN, args: '[1]' }), sidekiqPayload({ className: ADMIN, args: '[2]' })];
    const archive = sidekiqPayload({ className: ARCHIVE, args: '[3]' });
    await shard.rpush('queue:default', admin[0]!, archive, admin[1]!);
    await shard.sadd('queues', 'default');

    const { code, stdout } = await runCli('move', '--from', redis.urls().target, '--to', redis.urls().source, '--catalog', CE_CATALOG, '--rules', rules, '--store', 'main');

    expect(code).toBe(0);
    expect(stdout).toContain('Complete');
    await expectExactJobs(redis.source(), '', admin.map((p) => jobEntry('queue:default', p)), 'main has the class whose rule names main');
    await expectExactJobs(shard, '', [jobEntry('queue:default', archive)], 'the shard keeps the class still routed there');

    // Every rule naming main explicitly is as good as none naming a store: not "nothing selected".
    const allMain = file('all-main.yml', '- ["*", "default", "main"]\n');
    const before = await keyValueSnapshot(shard);
    const dry = await runCli('move', '--from', redis.urls().target, '--to', redis.urls().source, '--catalog', CE_CATALOG, '--rules', allMain, '--store', 'main', '--dry-run', '--json');
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout).selection).toMatchObject({ jobs: 1, byClass: { [ARCHIVE]: { 'queue:default': 1 } } });
    expect(await keyValueSnapshot(shard)).toEqual(before);
  });
});

describe('routing rules that name an empty store', () => {
  it('--store main takes the workers whose first matching rule names the store "" (GitLab sends them to its default Sidekiq Redis)', async () => {
    const rules = file('empty-store.yml', `- ["worker_name=${ADMIN}", "default", ""]\n- ["*", "default", "queues_shard_catchall_b"]\n`);
    const shard = redis.target();
    const admin = sidekiqPayload({ className: ADMIN, args: '[1]' });
    const archive = sidekiqPayload({ className: ARCHIVE, args: '[2]' });
    await shard.rpush('queue:default', admin, archive);
    await shard.sadd('queues', 'default');

    const { code, stdout } = await runCli('move', '--from', redis.urls().target, '--to', redis.urls().source, '--catalog', CE_CATALOG, '--rules', rules, '--store', 'main');

    expect(code).toBe(0);
    expect(stdout).toContain('Complete');
    await expectExactJobs(redis.source(), '', [jobEntry('queue:default', admin)]);
    await expectExactJobs(shard, '', [jobEntry('queue:default', archive)]);
  });
});

describe('queries GitLab accepts but reads otherwise than they look', () => {
  it('has_external_dependencies=TRUE routes, as in GitLab, the workers without external dependencies, with a warning; --strict refuses it, touching nothing', async () => {
    const rules = file('truthy.yml', '- ["has_external_dependencies=TRUE", "external"]\n- ["*", "default"]\n');
    const source = redis.source();
    const without = sidekiqPayload({ className: ADMIN, queue: 'cronjob:admin_email', args: '[1]' });
    const withDeps = sidekiqPayload({ className: 'X509IssuerCrlCheckWorker', queue: 'cronjob:x509_issuer_crl_check', args: '[2]' });
    await source.rpush('queue:cronjob:admin_email', without);
    await source.rpush('queue:cronjob:x509_issuer_crl_check', withDeps);
    await source.sadd('queues', 'cronjob:admin_email', 'cronjob:x509_issuer_crl_check');
    const before = await keyValueSnapshot(source);
    const quirk = '"has_external_dependencies=TRUE": GitLab takes every value but "true" for false ("TRUE"), so it stands for the workers without external dependencies.';

    const strict = await runCli('run', '--redis', redis.urls().source, '--catalog', CE_CATALOG, '--rules', rules, '--strict');

    expect(strict.stdout).toBe('');
    expect(strict.stderr).toBe(`Refused by --strict (GitLab accepts these, but they are probably mistakes):\n  - rule 1: ${quirk}\n  (in ${rules})\n`);
    expect(strict.code).toBe(2);
    expect(await keyValueSnapshot(source)).toEqual(before);

    // With --json too, on stderr beside the plan's notices (it said nothing of them there before).
    const run = await runCli('run', '--redis', redis.urls().source, '--catalog', CE_CATALOG, '--rules', rules, '--json');

    expect(run.stderr).toContain(`warning: Rule 1 ["has_external_dependencies=TRUE","external"]: ${quirk}\n`);
    expect(JSON.parse(run.stdout)).toMatchObject({ complete: true, totals: { moved: 2 } });
    expect(run.code).toBe(0);
    await expectExactJobs(source, '', [
      jobEntry('queue:external', without.replace('"queue":"cronjob:admin_email"', '"queue":"external"')),
      jobEntry('queue:default', withDeps.replace('"queue":"cronjob:x509_issuer_crl_check"', '"queue":"default"')),
    ]);
  });
});

// One hand-written catalog entry in full; the second borrows its attributes through YAML.
const ENTRY = `- &urgent
  :name: urgent_one
  :worker_name: UrgentOneWorker
  :feature_category: :team_planning
  :has_external_dependencies: false
  :urgency: :high
  :resource_boundary: :unknown
  :weight: 1
  :idempotent: true
  :tags: []
  :queue_namespace:
`;

describe('a worker catalog is read as written, or refused', () => {
  it.each([
    ['a merge key (<<: *alias)', `${ENTRY}- <<: *urgent\n  :name: urgent_two\n  :worker_name: UrgentTwoWorker\n`, /^catalog\.yml line 12: \*urgent is a YAML alias/],
    ['an alias for a value', `${ENTRY}- :name: urgent_two\n  :worker_name: UrgentTwoWorker\n  :urgency: *high\n`.replace(':urgency: :high', ':urgency: &high :high'), /^catalog\.yml line 14: \*high is a YAML alias/],
    ['an attribute given twice, as :urgency: and urgency:', `${ENTRY}- :name: urgent_two\n  :worker_name: UrgentTwoWorker\n  :urgency: :high\n  urgency: :low\n`, /^catalog\.yml entry 2: gives :urgency: twice \(as ":urgency:" and "urgency:"\)$/m],
    ['an entry without its class, named like a property of every JavaScript object', `${ENTRY}- :name: toString\n`, /^catalog\.yml entry 2 \(name "toString"\): :worker_name: is missing; every worker entry names its class$/m],
    ['a merge key with the attributes written out', `${ENTRY}- <<: {":urgency": :high}\n  :name: urgent_two\n  :worker_name: UrgentTwoWorker\n`, /^catalog\.yml entry 2: "<<" \(a YAML merge key\)/],
  ])('%s: exit 2 naming the file and where, nothing touched', async (_, catalogText, message) => {
    // Read as it stands, UrgentTwoWorker would go to default (no urgency, or :low) instead of urgent.
    const catalog = file('catalog.yml', catalogText);
    const rules = file('urgent.yml', '- ["urgency=high", "urgent"]\n- ["*", "default"]\n');
    const source = redis.source();
    await source.rpush('queue:urgent_two', sidekiqPayload({ className: 'UrgentTwoWorker', queue: 'urgent_two', args: '[1]' }));
    await source.sadd('queues', 'urgent_two');
    const before = await keyValueSnapshot(source);

    const { code, stdout, stderr } = await runCli('run', '--redis', redis.urls().source, '--catalog', catalog, '--rules', rules);

    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(code).toBe(2);
    expect(await keyValueSnapshot(source)).toEqual(before);
  });
});

describe('renames', () => {
  it('a configuration file renaming a queue whose name holds "=" ({"a=x": b}) exits 2 naming it, instead of renaming queue a to "x=b"', async () => {
    const source = redis.source();
    await source.rpush('queue:a', sidekiqPayload({ className: 'W', queue: 'a', args: '[1]' }));
    await source.rpush('queue:a=x', sidekiqPayload({ className: 'W', queue: 'a=x', args: '[2]' }));
    await source.sadd('queues', 'a', 'a=x');
    const before = await keyValueSnapshot(source);
    const config = file('rename-equals.yml', `redis: ${redis.urls().source}\nrouting:\n  rename:\n    "a=x": b\n`);

    const { code, stdout, stderr } = await runCli('--config', config, 'run');

    expect(stdout).toBe('');
    expect(stderr).toBe(`${config}: routing.rename.a=x: a queue whose name holds "=" cannot be renamed (a rename is passed on as OLD=NEW)\n`);
    expect(code).toBe(2);
    expect(await keyValueSnapshot(source)).toEqual(before);
  });
});

describe('destinations no Sidekiq would fetch from as meant', () => {
  it('--mapping and --rename to a queue with white space at an end or a control character exit 2 naming it, nothing touched', async () => {
    const source = redis.source();
    await source.rpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old', args: '[1]' }));
    await source.sadd('queues', 'old');
    const before = await keyValueSnapshot(source);
    const mapping = file('odd-destinations.json', JSON.stringify({ A: 'new ', B: ' new', C: 'new\n', D: 'cronjob:my queue' }));

    const mapped = await runCli('run', '--redis', redis.urls().source, '--mapping', mapping);
    const renamed = await runCli('run', '--redis', redis.urls().source, '--rename', 'old=new ', '--rename', 'old2=new\tx');

    expect(mapped.stderr).toBe(
      `${mapping}: invalid class mapping:\n` +
        '  - A: the queue "new " begins or ends with white space\n' +
        '  - B: the queue " new" begins or ends with white space\n' +
        '  - C: the queue "new\\n" holds a control character\n',
    );
    expect(mapped.code).toBe(2);
    expect(renamed.stderr).toBe('Invalid --rename:\n  - "old=new ": the queue "new " begins or ends with white space\n  - "old2=new\tx": the queue "new\\tx" holds a control character\n');
    expect(renamed.code).toBe(2);
    expect(mapped.stdout + renamed.stdout).toBe('');
    expect(await keyValueSnapshot(source)).toEqual(before);
  });
  it('a destination given as a key name (queue:new) is refused in --mapping, --rename, routing rules and move --mapping: exit 2, naming it and suggesting new, nothing touched', async () => {
    // No Sidekiq process live (stopped for the migration): nothing else would say that the jobs
    // went to the list queue:queue:new, which no process fetches from.
    const source = redis.source();
    const target = redis.target();
    const before = await seedOldAndA();
    const mapping = file('key-name-mapping.json', JSON.stringify({ SomeWorker: 'queue:new', [ADMIN]: 'mailers' }));
    const rules = file('key-name-rules.yml', `- ["worker_name=${ADMIN}", "queue:new"]\n- ["*", "default"]\n`);
    const suggestion = 'the queue "queue:new" is a key name, not a queue name: its jobs would go to the list queue:queue:new, which no Sidekiq process fetches from; give new';

    const { mapped, renamed, ruled, moved } = await everyWayOfRouting({ mapping, rename: 'a=queue:new', rules });

    expect(mapped.stderr).toBe(`${mapping}: invalid class mapping:\n  - SomeWorker: ${suggestion}\n`);
    expect(mapped.code).toBe(2);
    expect(renamed.stderr).toBe(`Invalid --rename:\n  - "a=queue:new": ${suggestion}\n`);
    expect(renamed.code).toBe(2);
    expect(ruled.stderr).toBe(`Routing rule \`["worker_name=${ADMIN}", "queue:new"]\` is invalid: its queue "queue:new" is a key name, not a queue name: its jobs would go to the list queue:queue:new, which no Sidekiq process fetches from; give new\n  (in routing rule 1 of ${rules})\n`);
    expect(ruled.code).toBe(2);
    expect(moved.stderr).toBe(mapped.stderr);
    expect(moved.code).toBe(2);
    expect(mapped.stdout + renamed.stdout + ruled.stdout + moved.stdout).toBe('');
    expect(await keyValueSnapshot(source)).toEqual(before);
    expect(await keyValueSnapshot(target)).toEqual({});
  });
});

describe('destinations written with the namespace', () => {
  it('--namespace resque:gitlab with a destination resque:gitlab:queue:new in --mapping, --rename, routing rules and move --mapping: exit 2, naming it and suggesting new, nothing touched', async () => {
    // The namespace is put before every key: the jobs would go to the list
    // resque:gitlab:queue:resque:gitlab:queue:new, which no Sidekiq process fetches from.
    const source = redis.source();
    const target = redis.target();
    const before = await seedOldAndA('resque:gitlab:');
    const mapping = file('namespaced-mapping.json', JSON.stringify({ SomeWorker: 'resque:gitlab:queue:new', [ADMIN]: 'mailers' }));
    const rules = file('namespaced-rules.yml', `- ["worker_name=${ADMIN}", "resque:gitlab:queue:new"]\n- ["*", "default"]\n`);
    const problem = (queue: string) => `the queue "${queue}" is a key name with the namespace resque:gitlab:, which is put before every key name: its jobs would go to the list resque:gitlab:queue:${queue}, which no Sidekiq process fetches from; give new`;
    const ns = ['--namespace', 'resque:gitlab'];

    const { mapped, renamed, ruled, moved } = await everyWayOfRouting({ mapping, rename: 'a=resque:gitlab:queue:new', rules, extra: ns });

    expect(mapped.stderr).toBe(`Invalid destination in --mapping (or the queue of a routing rule):\n  - SomeWorker: ${problem('resque:gitlab:queue:new')}\n`);
    expect(mapped.code).toBe(2);
    expect(renamed.stderr).toBe(`Invalid --rename:\n  - "a=resque:gitlab:queue:new": ${problem('resque:gitlab:queue:new')}\n`);
    expect(renamed.code).toBe(2);
    expect(ruled.stderr).toBe(`Invalid destination in --mapping (or the queue of a routing rule):\n  - ${ADMIN}: ${problem('resque:gitlab:queue:new')}\n`);
    expect(ruled.code).toBe(2);
    expect(moved.stderr).toBe(mapped.stderr);
    expect(moved.code).toBe(2);
    expect(mapped.stdout + renamed.stdout + ruled.stdout + moved.stdout).toBe('');
    expect(await keyValueSnapshot(source)).toEqual(before);
    expect(await keyValueSnapshot(target)).toEqual({});

    // Legal queue names are taken: `schedule` (the list queue:schedule, not the set) and a name
    // holding the namespace's words without being a key (a dry run: nothing touched either).
    for (const to of ['schedule', 'resque:gitlab:new']) {
      const legal = await runCli('run', '--redis', redis.urls().source, ...ns, '--rename', `a=${to}`, '--dry-run');
      expect(legal.stderr, to).not.toMatch(/Invalid/);
      expect(legal.code, to).toBe(0);
    }
    expect(await keyValueSnapshot(source)).toEqual(before);
  });
});

describe('a destination too long for the state machine', () => {
  // A run carries destination names through its states (each item's moves per destination, the
  // tally's), 256 KiB each: a mapping to a 40,000-byte queue name moved 7 of 10 jobs, then failed
  // with States.DataLimitExceeded at the Map, saying "Run the same command again to finish",
  // which failed the same way every time. Source queue names longer than 512 bytes were refused;
  // destinations are now too, before anything is touched.
  const long = 'd'.repeat(40_000);
  const shown = `the queue "${'d'.repeat(40)}…" is 40,000 bytes long: a run carries queue names through the state machine's states (256 KiB each), so it takes names of at most 512 bytes`;

  it('--mapping, --rename and routing rules naming one exit 2 naming it, nothing touched', async () => {
    const source = redis.source();
    await source.rpush('queue:old', sidekiqPayload({ className: ADMIN, queue: 'old', args: '[1]' }));
    await source.sadd('queues', 'old');
    const before = await keyValueSnapshot(source);
    const mapping = file('long-destination.json', JSON.stringify({ [ADMIN]: long }));
    const rules = file('long-destination.yml', `- ["worker_name=${ADMIN}", "${long}"]\n- ["*", "default"]\n`);

    const mapped = await runCli('run', '--redis', redis.urls().source, '--mapping', mapping);
    const renamed = await runCli('run', '--redis', redis.urls().source, '--rename', `old=${long}`);
    const ruled = await runCli('run', '--redis', redis.urls().source, '--catalog', CE_CATALOG, '--rules', rules);

    expect(mapped.stderr).toBe(`${mapping}: invalid class mapping:\n  - ${ADMIN}: ${shown}\n`);
    expect(renamed.stderr).toBe(`Invalid --rename:\n  - "old=${'d'.repeat(40)}…": ${shown}\n`);
    // The rule itself is shown cut to 200 characters.
    const rule = `["worker_name=${ADMIN}", "${long}"]`.slice(0, 200);
    expect(ruled.stderr).toBe(`Routing rule \`${rule}…\` is invalid: its ${shown.replace('the queue ', 'queue ')}\n  (in routing rule 1 of ${rules})\n`);
    expect([mapped.code, renamed.code, ruled.code]).toEqual([2, 2, 2]);
    expect(mapped.stdout + renamed.stdout + ruled.stdout).toBe('');
    expect(await keyValueSnapshot(source)).toEqual(before);
  });

  it('an execution input naming one (started without the CLI) fails its plan as InvalidInputError, nothing moved, no lock left', async () => {
    const source = redis.source();
    const jobs = Array.from({ length: 10 }, (_, i) => sidekiqPayload({ className: 'A', queue: `q${i}`, args: `[${i}]` }));
    for (const [i, job] of jobs.entries()) await source.rpush(`queue:q${i}`, job);
    await source.sadd('queues', ...jobs.map((_, i) => `q${i}`));
    const connections = new UrlConnections({ source: { url: redis.urls().source } });

    const executions = await runWorkflowLocally({ runId: 'long-1', mode: 'reroute', routing: { kind: 'mapping', mapping: { A: long } } }, localTaskHandlers(connections), { retryIntervalMs: 0 }).finally(() => connections.close());

    expect(executions.map((e) => e.error)).toEqual([{ name: 'InvalidInputError', message: `The mapping of the execution input is invalid:\n  - A: ${shown}` }]);
    await expectExactJobs(source, '', jobs.map((job, i) => jobEntry(`queue:q${i}`, job)), 'every job where it was');
    expect(await source.exists('sidekiq-migrate:lock')).toBe(0);
  });
});

describe('renames that form a cycle', () => {
  it('--rename a=b --rename b=a is refused once as a cycle, without advising to rename a queue to itself: exit 2, nothing touched', async () => {
    const source = redis.source();
    await source.rpush('queue:a', sidekiqPayload({ className: 'W', queue: 'a', args: '[1]' }));
    await source.rpush('queue:b', sidekiqPayload({ className: 'W', queue: 'b', args: '[2]' }));
    await source.sadd('queues', 'a', 'b');
    const before = await keyValueSnapshot(source);

    const swap = await runCli('run', '--redis', redis.urls().source, '--rename', 'a=b', '--rename', 'b=a');
    const longer = await runCli('run', '--redis', redis.urls().source, '--rename', 'x=a', '--rename', 'a=b', '--rename', 'b=c', '--rename', 'c=a');

    expect(swap.stderr).toBe('Invalid --rename:\n  - "a=b": the renames form a cycle (a → b → a): a job moved along it would be moved again; rename through a queue that no rename drains, in separate runs\n');
    expect(swap.code).toBe(2);
    expect(longer.stderr).toBe(
      'Invalid --rename:\n' +
        '  - "x=a": a is itself renamed to b\n' +
        '  - "a=b": the renames form a cycle (a → b → c → a): a job moved along it would be moved again; rename through a queue that no rename drains, in separate runs\n',
    );
    expect(longer.code).toBe(2);
    expect(swap.stdout + longer.stdout).toBe('');
    expect(await keyValueSnapshot(source)).toEqual(before);
  });
});

describe('renames in an execution input (a deployment\'s sweep, or one started by hand)', () => {
  it('{"a=x": "b"} renames queue a=x to b, and leaves queue a alone', async () => {
    const source = redis.source();
    const a = sidekiqPayload({ className: 'W', queue: 'a', args: '[1]' });
    const ax = sidekiqPayload({ className: 'W', queue: 'a=x', args: '[2]' });
    await source.rpush('queue:a', a);
    await source.rpush('queue:a=x', ax);
    await source.sadd('queues', 'a', 'a=x');
    const connections = new UrlConnections({ source: { url: redis.urls().source } });
    try {
      const input = { runId: 'rename-equals', mode: 'reroute', routing: { kind: 'renames', renames: { 'a=x': 'b' } } };
      const executions = await runWorkflowLocally(input, localTaskHandlers(connections), { retryIntervalMs: 0 });

      expect(executions.at(-1)!.output as RunSummary).toMatchObject({ complete: true, totals: { moved: 1 } });
    } finally {
      await connections.close();
    }
    await expectExactJobs(source, '', [jobEntry('queue:a', a), jobEntry('queue:b', ax.replace('"queue":"a=x"', '"queue":"b"'))]);
  });
});

describe('a gitlab.yml section', () => {
  it.each(['constructor', '__proto__', 'toString'])('--environment %s, a section the file does not have, exits 2 instead of taking GitLab\'s default rule (every worker to default)', async (environment) => {
    const gitlabYml = file('gitlab.yml', `production:\n  sidekiq:\n    routing_rules:\n      - ["*", null]\n`);
    const source = redis.source();
    await source.rpush('queue:cronjob:admin_email', sidekiqPayload({ className: ADMIN, queue: 'cronjob:admin_email', args: '[1]' }));
    await source.sadd('queues', 'cronjob:admin_email');
    const before = await keyValueSnapshot(source);

    const { code, stdout, stderr } = await runCli('run', '--redis', redis.urls().source, '--catalog', CE_CATALOG, '--rules', gitlabYml, '--environment', environment);

    expect(stdout).toBe('');
    expect(stderr).toBe(`${gitlabYml}: expected a list of [query, queue] routing rules, or a gitlab.yml with ${environment}.sidekiq.routing_rules\n`);
    expect(code).toBe(2);
    expect(await keyValueSnapshot(source)).toEqual(before);
  });
});
