import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobEntry, jobsIn, keyValueSnapshot } from '../support/exact-jobs.js';
import { commandsDuring } from '../support/monitor-writes.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// A comma-separated list with an empty entry: `--classes 'A,,B'` (or `A,$MISSING,B`, `,`, `A,`)
// dropped it and carried A and B (`,` alone: "no class named"), `--sets schedule,,retry` and
// `--retired-queues a,` the same, a file's `classes: "A,,B"` too: a name left out of the list went
// unsaid. Refused now, naming the option and the entry's position: exit 2, nothing touched.
// Spaces around a name are ignored, as they always were (no Sidekiq class, set or queue name
// holds one): `--classes ' A , B '` is A and B.
const redis = privateSourceAndTarget();

const job = (className: string, i: number) => sidekiqPayload({ className, queue: 'q', args: `[${i}]`, jid: `00000000000000000000000${i}` });

async function seed(): Promise<void> {
  const source = redis.source();
  await source.rpush('queue:q', job('A', 1), job('B', 2), job('C', 3));
  await source.sadd('queues', 'q');
}

const SOME_CLASSES = 'give exact worker class names, comma-separated (spaces around a name are ignored), e.g. Projects::ImportWorker,MergeWorker';

describe('a comma-separated list with an empty entry', { timeout: 120_000 }, () => {
  it.each([
    ['move --classes A,,B', (s: string, t: string) => ['move', '--from', s, '--to', t, '--classes', 'A,,B'], `--classes: entry 2 of "A,,B" is empty: ${SOME_CLASSES}`],
    ['move --classes ,', (s: string, t: string) => ['move', '--from', s, '--to', t, '--classes', ','], `--classes: entries 1 and 2 of "," are empty: ${SOME_CLASSES}`],
    ['move --classes "A, B,"', (s: string, t: string) => ['move', '--from', s, '--to', t, '--classes', 'A, B,'], `--classes: entry 3 of "A, B," is empty: ${SOME_CLASSES}`],
    ['move --classes "A, ,B"', (s: string, t: string) => ['move', '--from', s, '--to', t, '--classes', 'A, ,B'], `--classes: entry 2 of "A, ,B" is empty: ${SOME_CLASSES}`],
    ['drain-check --classes A,,B', (s: string) => ['drain-check', '--redis', s, '--classes', 'A,,B'], `--classes: entry 2 of "A,,B" is empty: ${SOME_CLASSES}`],
    ['run --sets schedule,,retry', (s: string) => ['run', '--redis', s, '--rename', 'q=r', '--sets', 'schedule,,retry'], '--sets: entry 2 of "schedule,,retry" is empty: give set names, comma-separated (spaces around a name are ignored), e.g. schedule,retry'],
    ['drain-check --retired-queues q,', (s: string) => ['drain-check', '--redis', s, '--retired-queues', 'q,'], '--retired-queues: entry 2 of "q," is empty: give queue names, comma-separated (spaces around a name are ignored), e.g. mailers,default'],
  ])('%s: exit 2, the option and the entry named, no command reaches either Redis', async (_case, args, message) => {
    await seed();
    const { source, target } = redis.urls();
    const before = { source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) };

    const { result, commands } = await commandsDuring({ source: redis.source(), target: redis.target() }, () => runCli(...args(source, target)));

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`${message}\n`);
    expect(commands).toEqual([]);
    expect({ source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) }).toEqual(before);
  });

  it('a configuration file\'s classes: "A,,B" is refused the same, under its key', async () => {
    await seed();
    const dir = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-lists-'));
    const path = join(dir, 'c.yaml');
    writeFileSync(path, 'classes: "A,,B"\n');
    const before = await keyValueSnapshot(redis.source());

    const result = await runCli('--config', path, 'move', '--from', redis.urls().source, '--to', redis.urls().target);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${path}: classes: entry 2 of "A,,B" is empty: give worker class names, comma-separated (spaces around a name are ignored), e.g. Projects::ImportWorker,MergeWorker\n`);
    expect(await keyValueSnapshot(redis.source())).toEqual(before);
    expect(await keyValueSnapshot(redis.target())).toEqual({});
  });

  it.each([
    ['sets: [schedule, ""]', 'sets: [schedule, ""]\n', 'sets: entry 2 is empty: give set names (schedule, retry, dead, interrupted)'],
    ['classes: [A, " "]', 'classes: [A, " "]\n', 'classes[1]: a class name, not empty'],
  ])("a configuration file's list %s with an empty entry is refused, not dropped", async (_case, text, message) => {
    await seed();
    const dir = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-lists-'));
    const path = join(dir, 'c.yaml');
    writeFileSync(path, text);
    const before = await keyValueSnapshot(redis.source());

    const result = await runCli('--config', path, 'move', '--from', redis.urls().source, '--to', redis.urls().target);

    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`${path}: ${message}\n`);
    expect(result.code).toBe(2);
    expect(await keyValueSnapshot(redis.source())).toEqual(before);
    expect(await keyValueSnapshot(redis.target())).toEqual({});
  });

  it("spaces around names are ignored: --classes ' A , B ' carries exactly A's and B's jobs, C's stay", async () => {
    await seed();

    const result = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--classes', ' A , B ');

    expect(result.code, result.stderr).toBe(0);
    expect(await jobsIn(redis.target(), '', ['queue:q'])).toEqual([jobEntry('queue:q', job('A', 1)), jobEntry('queue:q', job('B', 2))].sort());
    expect(await jobsIn(redis.source(), '', ['queue:q'])).toEqual([jobEntry('queue:q', job('C', 3))]);
  });
});
