import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.js';
import { workflowInputSchema } from '../../../core/workflow/workflow-input.js';
import { bufferIo } from '../../support/buffer-io.js';
import { FakeStepFunctions, REGION } from '../../support/fake-step-functions.js';
import { CE_CATALOG } from '../../support/paths.js';
import { tempFileWriter } from '../../support/temp-files.js';

// Issue #17: `start` takes move's selection, resolved here to the class list (and the routing of
// the selected classes) the deployed execution gets.

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

const file = tempFileWriter('start-selection-');

const ADMIN = 'AdminEmailWorker';
const ARCHIVE = 'RepositoryArchiveCacheWorker';
const rules = () =>
  file('gitlab.yml', `production:\n  sidekiq:\n    routing_rules:\n      - ["worker_name=${ADMIN},${ARCHIVE}", "default", "queues_shard_catchall_b"]\n      - ["*", "default"]\n`);

// startRequest: each start's own id (a name taken is refused, never answered with another start's execution).
const baseInput = { mode: 'transfer', source: 'source', target: 'target', sets: ['schedule', 'retry', 'dead', 'interrupted'], queues: true, dryRun: false, pageSize: 1000, unmapped: 'leave', placement: 'front', startRequest: expect.stringMatching(/^[0-9a-f-]{36}$/) };

describe('start with a selection of classes', () => {
  it("--store: the classes whose rule names the store, routed to their rule's queue, as the execution input", async () => {
    const { code, stdout } = await cli('start', '--mode', 'transfer', '--catalog', CE_CATALOG, '--rules', rules(), '--store', 'queues_shard_catchall_b', '--run-id', 'shard-b-1');

    expect(code).toBe(0);
    expect(fake.started).toHaveLength(1);
    const { name, input } = fake.started[0]!;
    expect(name).toBe('shard-b-1');
    expect(input).toEqual({
      ...baseInput,
      runId: 'shard-b-1',
      routing: { kind: 'mapping', mapping: { [ADMIN]: 'default', [ARCHIVE]: 'default' }, liveQueues: [] },
      classes: [ADMIN, ARCHIVE],
    });
    expect(workflowInputSchema.safeParse(input).success).toBe(true);
    expect(stdout).toMatch(/^Started transfer run shard-b-1\n {2}carries {4}only the jobs of 2 class\(es\) of store queues_shard_catchall_b \(\S+gitlab\.yml production\.sidekiq\.routing_rules\)\n {2}execution /);
  });

  it('--classes: those classes, keeping their queue (no routing); --classes-file mapping: re-routed; --json counts them', async () => {
    const listed = await cli('start', '--mode', 'transfer', '--classes', `${ADMIN}, ${ARCHIVE}`, '--run-id', 'listed', '--no-queues');
    const mapped = await cli('start', '--mode', 'transfer', '--classes-file', file('classes.yml', `${ADMIN}: shard_default\n`), '--run-id', 'mapped', '--json');

    expect([listed.code, mapped.code]).toEqual([0, 0]);
    expect(fake.started.map((s) => s.input)).toEqual([
      { ...baseInput, runId: 'listed', queues: false, classes: [ADMIN, ARCHIVE] },
      { ...baseInput, runId: 'mapped', routing: { kind: 'mapping', mapping: { [ADMIN]: 'shard_default' }, liveQueues: [] }, classes: [ADMIN] },
    ]);
    for (const { input } of fake.started) expect(workflowInputSchema.safeParse(input).success).toBe(true);
    expect(listed.stdout).toContain('  carries    only the jobs of 2 class(es) from --classes\n');
    expect(JSON.parse(mapped.stdout)).toMatchObject({ type: 'started', runId: 'mapped', mode: 'transfer', classes: 1 });
  });

  it('takes the selection from the configuration file; a selection flag replaces it', async () => {
    const config = file('sidekiq-migrate.config.yaml', [`classes: [${ADMIN}]`, ''].join('\n'));

    const fromFile = await cli('start', '--config', config, '--mode', 'transfer', '--run-id', 'cfg-sel-1');
    const overridden = await cli('start', '--config', config, '--mode', 'transfer', '--classes', ARCHIVE, '--run-id', 'cfg-sel-2');

    expect([fromFile.code, overridden.code]).toEqual([0, 0]);
    expect(fake.started.map((s) => (s.input as { classes?: string[] }).classes)).toEqual([[ADMIN], [ARCHIVE]]);
  });

  it('refuses a bad selection with one clear message, exit 2, starting nothing', async () => {
    const reroute = await cli('start', '--rename', 'a=b', '--classes', ADMIN);
    const storeWithoutRules = await cli('start', '--mode', 'transfer', '--store', 'queues_shard_catchall_b');
    const twoWays = await cli('start', '--mode', 'transfer', '--classes', ADMIN, '--classes-file', 'x.yml');
    const missing = await cli('start', '--mode', 'transfer', '--classes-file', join(file.dir, 'nowhere.yml'));
    const unknownStore = await cli('start', '--mode', 'transfer', '--catalog', CE_CATALOG, '--rules', rules(), '--store', 'queues_shard_nowhere');
    const redisYml = await cli('start', '--mode', 'transfer', '--classes', ADMIN, '--redis-yml', 'redis.yml');

    expect([reroute, storeWithoutRules, twoWays, missing, unknownStore, redisYml].map((r) => r.code)).toEqual([2, 2, 2, 2, 2, 2]);
    expect(reroute.stderr).toContain('--classes: a selection of classes is for a transfer (--mode transfer): a re-route moves what its routing says');
    expect(storeWithoutRules.stderr).toContain('--store: --store needs the routing rules that name stores: --catalog all_queues.yml --rules gitlab.yml');
    expect(twoWays.stderr).toContain('select classes one way: --classes, --classes-file or --store, not several');
    expect(missing.stderr).toContain('nowhere.yml');
    expect(unknownStore.stderr).toContain('queues_shard_nowhere');
    expect(redisYml.stderr).toContain("unknown option '--redis-yml'");
    for (const r of [reroute, storeWithoutRules, twoWays, missing, unknownStore, redisYml]) expect(r.stdout).toBe('');
    expect(fake.calls('StartExecution')).toBe(0);
    expect(fake.cfn.calls()).toHaveLength(0);
  });

  it('500 selected classes with their routing stay far below the 256 KiB input limit', async () => {
    // GitLab-like names (~60 bytes): the list travels once, in the input; the plan step stores it on the source.
    const classes = Array.from({ length: 500 }, (_, i) => `Namespaces::ProjectsAndGroups::SomeLongWorkerName${String(i).padStart(4, '0')}Worker`);
    const mapping = file('five-hundred.json', JSON.stringify(Object.fromEntries(classes.map((c) => [c, 'default']))));

    const { code } = await cli('start', '--mode', 'transfer', '--classes-file', mapping, '--run-id', 'five-hundred');

    expect(code).toBe(0);
    const { input } = fake.started[0]!;
    expect((input as { classes: string[] }).classes).toEqual(classes);
    expect(Object.keys((input as { routing: { mapping: object } }).routing.mapping)).toEqual(classes);
    const size = Buffer.byteLength(JSON.stringify(input));
    // Measured: 67,280 bytes, about a quarter of the 262,144 allowed.
    expect(size).toBeGreaterThan(60_000);
    expect(size).toBeLessThan(70_000);
  });
});
