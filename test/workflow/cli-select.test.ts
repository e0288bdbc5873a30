import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { CE_CATALOG } from '../support/paths.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';
import { tempFileWriter } from '../support/temp-files.js';

// Issue #17's selection at the CLI: which classes a move carries, the plan per class before it,
// and what drain-check finds of them. (The selective claim itself is the core's: core/transfer/.)

const redis = privateSourceAndTarget();
const file = tempFileWriter('cli-select-');

// Two workers of the CE catalog go to shard b; every other worker stays on the main instance.
const MOVING = ['AdminEmailWorker', 'RepositoryArchiveCacheWorker'];
const STAYING = 'Namespaces::PruneAggregationSchedulesWorker';
const rules = file(
  'gitlab.yml',
  `production:
  sidekiq:
    routing_rules:
      - ["worker_name=${MOVING.join(',')}", "default", "queues_shard_catchall_b"]
      - ["*", "default"]
`,
);
const redisYml = () => file('redis.yml', `production:\n  url: "${redis.urls().source}"\n  queues_shard_catchall_b:\n    url: "${redis.urls().target}"\n  cache:\n    url: "redis://cache.internal:6379"\n`);

const cli = runCli;

/** On the source: 3 + 1 queued jobs of the moving classes, 2 of the staying one, and one of each in schedule and dead. */
async function seed(): Promise<void> {
  const source = redis.source();
  for (let i = 0; i < 3; i++) await source.lpush('queue:default', sidekiqPayload({ className: MOVING[0]!, args: `[${i}]` }));
  await source.lpush('queue:default', sidekiqPayload({ className: MOVING[1]!, args: '[9]' }));
  for (let i = 0; i < 2; i++) await source.lpush('queue:default', sidekiqPayload({ className: STAYING, args: `[${i}]` }));
  await source.sadd('queues', 'default');
  await source.zadd('schedule', '2000000000', sidekiqPayload({ className: MOVING[1]!, args: '[1]' }));
  await source.zadd('schedule', '2000000001', sidekiqPayload({ className: STAYING, args: '[1]' }));
  await source.zadd('dead', '1700000000', sidekiqPayload({ className: MOVING[0]!, args: '[7]' }));
}

const snapshots = async () => ({ source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) });

describe('move with a selection: the plan per class', () => {
  it('--store selects the workers whose first matching rule names it, and the dry run shows per class and per key what would move, writing nothing', async () => {
    await seed();
    const before = await snapshots();

    const { code, stdout } = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--catalog', CE_CATALOG, '--rules', rules, '--store', 'queues_shard_catchall_b', '--dry-run');

    expect(code).toBe(0);
    expect(stdout).toMatch(/^Selection: 2 class\(es\) of store queues_shard_catchall_b\n {2}\(.+gitlab\.yml production\.sidekiq\.routing_rules\)$/m);
    expect(stdout.replace(/\n +/g, ' ')).toMatch(/^Read 9 job\(s\) on redis:\/\/127\.0\.0\.1:\d+: 6 would move, of 2 of the 2 selected class\(es\)\.$/m);
    expect(stdout).toContain('By set and queue (3 with selected jobs):');
    expect(stdout).toMatch(/^ {2}queue:default +4$/m);
    expect(stdout).toMatch(/^ {2}schedule +1$/m);
    expect(stdout).toMatch(/^ {2}dead +1$/m);
    expect(stdout).toMatch(/^ {2}AdminEmailWorker +4 {2}queue:default 3 · dead 1$/m);
    expect(stdout).toMatch(/^ {2}RepositoryArchiveCacheWorker +2 {2}queue:default 1 · schedule 1$/m);
    expect(stdout).not.toContain('No jobs of');
    expect(stdout).toContain('DRY RUN: nothing was written');
    expect(await snapshots()).toEqual(before);
  });

  it('--redis-yml lets --from and --to be store names (main: the default instance)', async () => {
    await seed();
    const before = await snapshots();

    const { code, stdout } = await cli('move', '--redis-yml', redisYml(), '--from', 'main', '--to', 'queues_shard_catchall_b', '--classes', `${MOVING[1]},Nobody::HasThisWorker`, '--dry-run');

    expect(code).toBe(0);
    expect(stdout).toContain('Selection: 2 class(es) from --classes');
    // Once "2 of 1 of 2 selected class(es) would move": which number was which could not be read.
    expect(stdout.replace(/\n +/g, ' ')).toContain(`Read 9 job(s) on ${redis.urls().source}: 2 would move, of 1 of the 2 selected class(es).`);
    expect(stdout).toMatch(/^No jobs of 1 selected class\(es\):\n {2}Nobody::HasThisWorker$/m);
    expect(stdout).toContain(`Transfer ${redis.urls().source} → ${redis.urls().target}`);
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('Dry run, nothing written: a run would move 2 job(s) and leave none behind.');
    expect(await snapshots()).toEqual(before);

    const none = await cli('move', '--redis-yml', redisYml(), '--from', 'main', '--to', 'queues_shard_catchall_b', '--classes', 'Nobody::HasThisWorker', '--dry-run');
    expect(none.code).toBe(0);
    expect(none.stdout.trimEnd().split('\n').at(-1)).toBe('Dry run, nothing written: no job of the selected classes is on the source; a run would move nothing.');
    expect(await snapshots()).toEqual(before);
  });

  it('--store main selects the classes whose first matching rule names no store: the way back', async () => {
    await seed();

    const { code, stdout } = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--catalog', CE_CATALOG, '--rules', rules, '--store', 'main', '--dry-run', '--json');

    expect(code).toBe(0);
    const { selection } = JSON.parse(stdout) as { selection: { classes: number; jobs: number; byClass: Record<string, Record<string, number>>; withoutJobs: string[] } };
    expect(selection.byClass).toEqual({ [STAYING]: { 'queue:default': 2, schedule: 1 } });
    expect(selection.jobs).toBe(3);
    expect(selection.withoutJobs).toHaveLength(selection.classes - 1);
    expect(selection.withoutJobs).not.toContain(MOVING[0]);
    expect(selection.withoutJobs).toContain('MergeWorker');
  });

  it('stays compact for hundreds of classes: bounded lines, 80 columns', async () => {
    await seed();
    const many = Array.from({ length: 500 }, (_, i) => `Generated::Worker${String(i).padStart(3, '0')}WithAQuiteLongNameForTheTerminal`);
    const list = file('classes.yml', [...MOVING, ...many].map((c) => `- ${c}`).join('\n'));

    const { code, stdout } = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--classes-file', list, '--dry-run');

    expect(code).toBe(0);
    const plan = stdout.slice(0, stdout.indexOf('Transfer '));
    expect(plan).toMatch(/: 6 would move, of 2 of the 502 selected\s+class\(es\)\./);
    expect(plan).toMatch(/^No jobs of 500 selected class\(es\):\n {2}Generated::Worker000\S+ … and 499 more \(--verbose\)$/m);
    expect(plan.split('\n').length).toBeLessThan(20);
    for (const line of plan.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  });
});

describe('move with a selection from the configuration file', () => {
  it('takes redisYml, store names as from and to, and store with routing', async () => {
    await seed();
    const before = await snapshots();
    const config = file('sidekiq-migrate.config.yaml', `redisYml: ${redisYml()}\nfrom: main\nto: queues_shard_catchall_b\nstore: queues_shard_catchall_b\nrouting:\n  catalog: ${CE_CATALOG}\n  rules: ${rules}\n`);

    const { code, stdout, stderr } = await cli('--config', config, 'move', '--dry-run', '--json');

    expect(code).toBe(0);
    expect(stderr).toContain('Using configuration file');
    expect(JSON.parse(stdout)).toMatchObject({ dryRun: true, selection: { classes: 2, jobs: 6, byClass: { AdminEmailWorker: { 'queue:default': 3, dead: 1 } } } });
    expect(await snapshots()).toEqual(before);
  });

  it('reports every problem of the file together, and a --classes flag replaces its store', async () => {
    const bad = file('bad.config.yaml', 'store: "shard b"\nclasses: []\nfrom: "not a url"\n');
    const { code, stderr } = await cli('--config', bad, 'move', '--to', redis.urls().target);
    expect(code).toBe(2);
    expect(stderr).toContain('store: a store name, e.g. queues_shard_catchall_b, or main');
    expect(stderr).toContain('classes: at least one class');
    expect(stderr).toMatch(/from: not a URL: not a url \(expected redis:\/\/.*\); nor is it a store name of redisYml \(a letter, then letters, digits, _ or -\)\n/);

    await seed();
    const config = file('store.config.yaml', `store: queues_shard_catchall_b\nrouting:\n  catalog: ${CE_CATALOG}\n  rules: ${rules}\n`);
    const flag = await cli('--config', config, 'move', '--from', redis.urls().source, '--to', redis.urls().target, '--classes', STAYING, '--dry-run');
    expect(flag.code).toBe(0);
    expect(flag.stdout).toContain('Selection: 1 class(es) from --classes');
  });
});

describe('move with a selection: bad input exits 2 and touches nothing', () => {
  it.each([
    ['an unknown store name', ['--redis-yml', '<redis.yml>', '--from', 'main', '--to', 'queues_shard_nope', '--classes', 'A'], /^--to queues_shard_nope: \S+redis\.yml defines no store queues_shard_nope; it has: main, queues_shard_catchall_b$/m],
    ['a store name without --redis-yml', ['--from', 'main', '--to', '<target>', '--classes', 'A'], /--from: main is not a Redis URL \(redis:\/\/… or rediss:\/\/…\); a store name needs --redis-yml config\/redis.yml/],
    ['an unknown classes file', ['--from', '<source>', '--to', '<target>', '--classes-file', '/nonexistent/classes.yml'], /Cannot read the classes file \/nonexistent\/classes.yml: no such file/],
    ['an unknown redis.yml', ['--redis-yml', '/nonexistent/redis.yml', '--from', 'main', '--to', '<target>', '--classes', 'A'], /Cannot read the Redis configuration \(redis.yml\) \/nonexistent\/redis.yml: no such file/],
    ['--classes together with --store', ['--from', '<source>', '--to', '<target>', '--classes', 'A', '--catalog', CE_CATALOG, '--rules', rules, '--store', 'main'], /--store: select classes one way: --classes, --classes-file or --store, not several/],
    ['--store without --rules', ['--from', '<source>', '--to', '<target>', '--store', 'queues_shard_catchall_b'], /--store: --store needs the routing rules that name stores: --catalog all_queues.yml --rules gitlab.yml/],
    ['a store no rule names', ['--from', '<source>', '--to', '<target>', '--catalog', CE_CATALOG, '--rules', rules, '--store', 'queues_shard_x'], /--store queues_shard_x: no worker's first matching rule in .+gitlab\.yml production\.sidekiq\.routing_rules sends it to store queues_shard_x, so nothing is selected \(the stores its rules name: queues_shard_catchall_b; main: workers whose rule names none\)/],
    ['an empty selection', ['--from', '<source>', '--to', '<target>', '--classes', ' , '], /^--classes: entries 1 and 2 of " , " are empty: give exact worker class names/],
    ['an empty classes file', ['--from', '<source>', '--to', '<target>', '--classes-file', '<empty>'], /invalid classes file:\n {2}- it names no class/],
  ])('%s', async (_, args, message) => {
    await seed();
    const before = await snapshots();
    const given = args.map((a) =>
      a === '<redis.yml>' ? redisYml() : a === '<source>' ? redis.urls().source : a === '<target>' ? redis.urls().target : a === '<empty>' ? file('empty.json', '[]') : a,
    );

    const { code, stdout, stderr } = await cli('move', ...given);

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(await snapshots()).toEqual(before);
  });
});

describe('drain-check for the selected classes', () => {
  const keys = new SidekiqKeys('');

  it('reports per class and per key what is left, and exits 1 while selected jobs remain', async () => {
    await seed();
    await heartbeat(redis.source(), keys, 'web:1:aaaaaaaaaaaa', ['default'], { beatAt: Date.now() / 1000 });

    const { code, stdout } = await cli('drain-check', '--redis-yml', redisYml(), '--redis', 'main', '--catalog', CE_CATALOG, '--rules', rules, '--store', 'queues_shard_catchall_b');

    expect(code).toBe(1);
    expect(stdout.replace(/\n +/g, ' ')).toMatch(/^Read 9 job\(s\) on redis:\/\/127\.0\.0\.1:\d+: 6 left, of 2 of the 2 selected class\(es\)\.$/m);
    expect(stdout).toMatch(/^ {2}AdminEmailWorker +4 {2}queue:default 3 · dead 1$/m);
    expect(stdout).toMatch(/^Selected classes: NOT DRAINED — 6 job\(s\) left on redis:\/\/127\.0\.0\.1:\d+\.$/m);
  });

  it('never says drained while a selected job is left, even a dead one the Redis verdict does not count', async () => {
    await redis.source().zadd('dead', '1700000000', sidekiqPayload({ className: MOVING[0]!, args: '[7]' }));

    const { code, stdout } = await cli('drain-check', '--redis', redis.urls().source, '--classes', MOVING.join(','), '--json');

    expect(code).toBe(1);
    const report = JSON.parse(stdout) as { verdict: { state: string; reasons: string[] }; selection: { left: number; drained: boolean; byClass: unknown; withoutJobs: string[] } };
    expect(report.verdict.state).toBe('draining');
    expect(report.verdict.reasons).toContain('1 job(s) of the selected classes are still here (dead or interrupted entries included): run the move again');
    expect(report.selection).toMatchObject({ left: 1, drained: false, byClass: { AdminEmailWorker: { dead: 1 } }, withoutJobs: ['RepositoryArchiveCacheWorker'] });
  });

  it('says the selection is drained, and exits 0, when only other classes are left', async () => {
    await redis.source().lpush('queue:default', sidekiqPayload({ className: STAYING }));
    await heartbeat(redis.source(), keys, 'web:1:aaaaaaaaaaaa', ['default'], { beatAt: Date.now() / 1000 });

    const { code, stdout } = await cli('drain-check', '--redis', redis.urls().source, '--classes', MOVING.join(','));

    expect(code).toBe(0);
    expect(stdout).toMatch(/^Selected classes: DRAINED — none of their jobs is left on redis:\/\/127\.0\.0\.1:\d+\.$/m);
    expect(stdout).toMatch(/^No jobs of 2 selected class\(es\):\n {2}AdminEmailWorker, RepositoryArchiveCacheWorker$/m);
  });

  it("counts the selected jobs that workers took into their fetchers' private lists, and only those", async () => {
    const working = 'working:queue:default:web-1:11:0a1b2c';
    await redis.source().lpush(working, sidekiqPayload({ className: STAYING }));
    await redis.source().set('reliable-fetcher-heartbeat-web-1-11-0a1b2c', '1', 'EX', 60);
    await heartbeat(redis.source(), keys, 'web:1:aaaaaaaaaaaa', ['default'], { beatAt: Date.now() / 1000 });

    // A job of a class that stays, being worked on: the selection is drained, the Redis is not.
    const staying = await cli('drain-check', '--redis', redis.urls().source, '--classes', MOVING.join(','));
    expect(staying.code).toBe(0);
    expect(staying.stdout).toMatch(/^redis:\/\/127\.0\.0\.1:\d+: DRAINING — 1 job\(s\) left\n/);
    expect(staying.stdout).toMatch(/^Selected classes: DRAINED — none of their jobs is left on redis:\/\/127\.0\.0\.1:\d+\.$/m);

    // A job of a selected class: it comes back here if its worker dies.
    await redis.source().lpush(working, sidekiqPayload({ className: MOVING[0]! }));
    const moving = await cli('drain-check', '--redis', redis.urls().source, '--classes', MOVING.join(','), '--json');
    expect(moving.code).toBe(1);
    const report = JSON.parse(moving.stdout) as { remaining: number; selection: { left: number; drained: boolean; byClass: unknown } };
    expect(report.remaining).toBe(2);
    expect(report.selection).toMatchObject({ left: 1, drained: false, working: 1, byClass: { AdminEmailWorker: { [working]: 1 } } });
    // Held by a live worker: said so, and not "run the move again", which cannot take it.
    const human = await cli('drain-check', '--redis', redis.urls().source, '--classes', MOVING.join(','));
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(
      /^Selected classes: NOT DRAINED — 1 job\(s\) left on redis:\/\/127\.0\.0\.1:\d+\. 1 of them are held by live workers \(in their private lists, or running where only their heartbeat shows them\): being worked now, they finish there \(or go back to their queue if the worker dies\); a move does not take them, so wait, then check again\.$/m,
    );
  });

  it('never says the selection is drained while a job of it sits in a quarantine list on this Redis', async () => {
    // A re-route quarantined it (its class had no destination then): no move carries it from there.
    const quarantine = 'sidekiq-migrate:quarantine:old';
    await redis.source().lpush(quarantine, sidekiqPayload({ className: MOVING[0]!, queue: 'old' }));
    await heartbeat(redis.source(), keys, 'web:1:aaaaaaaaaaaa', ['default'], { beatAt: Date.now() / 1000 });

    const { code, stdout } = await cli('drain-check', '--redis', redis.urls().source, '--classes', MOVING.join(','));

    expect(code).toBe(3);
    expect(stdout).toMatch(/^ {2}AdminEmailWorker +1 {2}sidekiq-migrate:quarantine:old 1$/m);
    expect(stdout).toMatch(/^Selected classes: NOT DRAINED — 1 job\(s\) left on redis:\/\/127\.0\.0\.1:\d+\.$/m);
  });

  it('refuses a selection with --deployed, and an unknown store name', async () => {
    const deployed = await cli('drain-check', '--deployed', '--classes', 'A');
    expect(deployed.code).toBe(2);
    expect(deployed.stderr).toContain('--classes: not with --deployed: the deployed check reports the whole Redis');

    const unknown = await cli('drain-check', '--redis-yml', redisYml(), '--redis', 'queues_shard_z', '--classes', 'A');
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/--redis queues_shard_z: \S+redis\.yml defines no store queues_shard_z; it has: main, queues_shard_catchall_b/);
  });
});

describe('routes with stores', () => {
  it('shows the store of each worker and no longer warns about a third element', async () => {
    const { code, stdout } = await cli('routes', '--catalog', CE_CATALOG, '--rules', rules);

    expect(code).toBe(0);
    expect(stdout).toMatch(/^default +\d+ {2}main, queues_shard_catchall_b$/m);
    expect(stdout).toContain('  AdminEmailWorker  [store queues_shard_catchall_b]');
    expect(stdout).toContain(`  ${STAYING}  [store main]`);
    expect(stdout).toMatch(/^Workers per Redis store: main \d+ · queues_shard_catchall_b 2$/m);
    expect(stdout).not.toContain('stores are not followed');
    expect(stdout).not.toContain('Warnings');
  });
});
