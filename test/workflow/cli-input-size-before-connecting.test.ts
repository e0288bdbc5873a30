// `run` and `move` refused an input too large for a run (a mapping, a selection's class list) only
// after connecting to Redis: with a bad option too it took two rounds (the option's problem, then
// once it was fixed the size's), and an unreachable Redis hid the size behind "Cannot connect".
// The size is now decided with the options, before anything connects: one message naming every
// problem, exit 2, nothing touched on either Redis, and the unreachable endpoint never tried.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { refusingEndpoint } from '../support/refusing-endpoint.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();

const dir = mkdtempSync(join(tmpdir(), 'input-size-early-'));
const classes = Array.from({ length: 10_000 }, (_, i) => `Worker${String(i).padStart(5, '0')}WithAFairlyLongGitLabStyleName`);
const mappingFile = join(dir, 'mapping.json');
writeFileSync(mappingFile, JSON.stringify(Object.fromEntries(classes.map((c, i) => [c, `gitlab_style_queue_name_for_worker_${i}`]))));
const classesFile = join(dir, 'classes.json');
writeFileSync(classesFile, JSON.stringify(classes));

// Under a run's input limit, over what a dry run carries in every state (196,608 bytes).
const carried = Array.from({ length: 4_500 }, (_, i) => `Gitlab::Some::Namespace::Worker${String(i).padStart(5, '0')}`);
const carriedMapping = join(dir, 'carried-mapping.json');
writeFileSync(carriedMapping, JSON.stringify(Object.fromEntries(carried.map((c, i) => [c, `queue_${i}`]))));
const carriedClasses = join(dir, 'carried-classes.json');
writeFileSync(carriedClasses, JSON.stringify(carried.map((c) => `${c}WithALongerName`)));

const CARRY = /A dry run carries its routing in every state of the state machine \(it stores nothing\): this one is [\d,]+ bytes, over the 196,608 bytes it can carry\. [^\n]* Nothing was touched\./;

const SIZE = /The run's input would be [\d,]+ bytes, over the 261,632 bytes a run's input may take \(Step Functions takes 262,144 bytes a state, and its first task gets the input with the execution's name; the local runner holds to the same limit\): (its mapping names|it selects) 10,000 classes\. [^\n]* Nothing was touched\./;

async function seed(): Promise<void> {
  const job = sidekiqPayload({ className: classes[0]!, queue: 'default', args: '[1]', jid: '000000000000000000000001' });
  await redis.source().rpush('queue:default', job);
  await redis.source().sadd('queues', 'default');
  await redis.source().zadd('schedule', '1795459303.25', job);
}

describe('an input too large for a run is refused with the options, before connecting', { timeout: 120_000 }, () => {
  it('run: with a bad option and --strict without --rules, one message naming all three; nothing touched', async () => {
    await seed();
    const before = await keyValueSnapshot(redis.source());

    const result = await runCli('run', '--redis', redis.urls().source, '--mapping', mappingFile, '--page-size', '0', '--strict');

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const items = result.stderr.split('\n  - ');
    expect(items[0]).toBe('Invalid options and files:');
    expect(items.slice(1, 3)).toEqual([
      '--page-size: the page size must be positive',
      '--strict: only applies with --rules (it refuses rule queries GitLab accepts but that are probably mistakes): add --catalog and --rules, or leave --strict out',
    ]);
    expect(items[3]).toMatch(new RegExp(`^${SIZE.source}\\n$`));
    expect(items).toHaveLength(4);
    expect(await keyValueSnapshot(redis.source())).toEqual(before);
  });

  it('run: the size alone is said as before (its own message), and with an unreachable --redis too, never trying it', async () => {
    await seed();
    const before = await keyValueSnapshot(redis.source());
    const endpoint = await refusingEndpoint();
    try {
      const reachable = await runCli('run', '--redis', redis.urls().source, '--mapping', mappingFile);
      const unreachable = await runCli('run', '--redis', endpoint.url, '--mapping', mappingFile);

      for (const result of [reachable, unreachable]) {
        expect(result.code).toBe(2);
        expect(result.stdout).toBe('');
        expect(result.stderr).toMatch(new RegExp(`^${SIZE.source}\\n$`));
      }
      expect(unreachable.stderr).toBe(reachable.stderr);
      expect(endpoint.attempts()).toBe(0);
      expect(await keyValueSnapshot(redis.source())).toEqual(before);
    } finally {
      await endpoint.close();
    }
  });

  it('move: a mapping too large with a bad option, one message; nothing touched on either Redis', async () => {
    await seed();
    const [source, target] = [await keyValueSnapshot(redis.source()), await keyValueSnapshot(redis.target())];

    const result = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--mapping', mappingFile, '--rate-limit', 'ten');

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const items = result.stderr.split('\n  - ');
    expect(items[0]).toBe('Invalid options and files:');
    expect(items[1]).toBe('--rate-limit: the rate limit must be a whole number in decimal digits, not "ten"');
    expect(items[2]).toMatch(new RegExp(`^${SIZE.source}\\n$`));
    expect(items[2]).toContain('its mapping names 10,000 classes');
    expect(items).toHaveLength(3);
    expect(await keyValueSnapshot(redis.source())).toEqual(source);
    expect(await keyValueSnapshot(redis.target())).toEqual(target);
  });

  it('move: a selection of too many classes (--classes-file), both ends unreachable: the size refusal, neither end tried', async () => {
    const endpoint = await refusingEndpoint();
    try {
      const alone = await runCli('move', '--from', endpoint.url, '--to', `${endpoint.url}/1`, '--classes-file', classesFile);
      const withOption = await runCli('move', '--from', endpoint.url, '--to', `${endpoint.url}/1`, '--classes-file', classesFile, '--to-replicas', '0');

      expect(alone.code).toBe(2);
      expect(alone.stdout).toBe('');
      expect(alone.stderr).toMatch(new RegExp(`^${SIZE.source}\\n$`));
      expect(alone.stderr).toContain('it selects 10,000 classes');
      expect(withOption.code).toBe(2);
      expect(withOption.stderr.split('\n  - ')).toEqual(['Invalid options and files:', '--to-replicas: the replica count must be positive', alone.stderr]);
      expect(endpoint.attempts()).toBe(0);
    } finally {
      await endpoint.close();
    }
  });

  it('a dry run too large to carry (run --mapping, move --classes-file), with a bad option and an unreachable Redis: both said at once, nothing tried; not a dry run, it connects', async () => {
    const endpoint = await refusingEndpoint();
    try {
      const run = await runCli('run', '--redis', endpoint.url, '--mapping', carriedMapping, '--dry-run', '--unmapped', 'drop');
      const move = await runCli('move', '--from', endpoint.url, '--to', `${endpoint.url}/1`, '--classes-file', carriedClasses, '--dry-run', '--page-size', '10001');
      const runAlone = await runCli('run', '--redis', endpoint.url, '--mapping', carriedMapping, '--dry-run');

      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      const runItems = run.stderr.split('\n  - ');
      expect(runItems.slice(0, 2)).toEqual(['Invalid options and files:', '--unmapped: must be leave or quarantine']);
      expect(runItems[2]).toMatch(new RegExp(`^${CARRY.source}\\n$`));
      expect(runItems).toHaveLength(3);
      expect(move.code).toBe(2);
      const moveItems = move.stderr.split('\n  - ');
      expect(moveItems.slice(0, 2)).toEqual(['Invalid options and files:', '--page-size: the page size must be at most 10000']);
      expect(moveItems[2]).toMatch(new RegExp(`^${CARRY.source}\\n$`));
      expect(runAlone.code).toBe(2);
      expect(runAlone.stderr).toMatch(new RegExp(`^${CARRY.source}\\n$`));
      expect(endpoint.attempts()).toBe(0);
      // Not a dry run: its routing is stored on the source, not carried; it connects (and finds the endpoint refusing).
      const real = await runCli('run', '--redis', endpoint.url, '--mapping', carriedMapping);
      expect(real.code).toBe(1);
      expect(real.stderr).toContain('Cannot connect to source');
      expect(endpoint.attempts()).toBeGreaterThan(0);
    } finally {
      await endpoint.close();
    }
  });

  it('a destination written as its key under --namespace (run, move --to-namespace) and a rollback given its run\'s own id: refused with the options, never trying the Redis', async () => {
    const endpoint = await refusingEndpoint();
    try {
      const mapping = join(dir, 'namespaced.json');
      writeFileSync(mapping, JSON.stringify({ A: 'resque:gitlab:queue:new' }));
      const run = await runCli('run', '--redis', endpoint.url, '--namespace', 'resque:gitlab', '--rename', 'a=resque:gitlab:queue:new', '--page-size', '0');
      const move = await runCli('move', '--from', endpoint.url, '--to', `${endpoint.url}/1`, '--to-namespace', 'resque:gitlab:', '--mapping', mapping);
      const rollback = await runCli('rollback', 'reroute-1', '--run-id', 'reroute-1', '--redis', endpoint.url);

      expect(run.code).toBe(2);
      expect(run.stderr).toBe(
        'Invalid options and files:\n  - --page-size: the page size must be positive\n  - Invalid --rename:\n      - "a=resque:gitlab:queue:new": the queue "resque:gitlab:queue:new" is a key name with the namespace resque:gitlab:, which is put before every key name: its jobs would go to the list resque:gitlab:queue:resque:gitlab:queue:new, which no Sidekiq process fetches from; give new\n',
      );
      expect(move.code).toBe(2);
      expect(move.stderr).toBe('Invalid destination in --mapping (or the queue of a routing rule):\n  - A: the queue "resque:gitlab:queue:new" is a key name with the namespace resque:gitlab:, which is put before every key name: its jobs would go to the list resque:gitlab:queue:resque:gitlab:queue:new, which no Sidekiq process fetches from; give new\n');
      expect(rollback.code).toBe(2);
      expect(rollback.stderr).toBe('--run-id: a rollback needs a run id of its own: reroute-1 is the run it rolls back\n');
      for (const result of [run, move, rollback]) expect(result.stdout).toBe('');
      expect(endpoint.attempts()).toBe(0);
    } finally {
      await endpoint.close();
    }
  });
});
