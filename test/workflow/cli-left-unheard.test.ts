import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { expectExactJobs, jobEntry, withQueue } from '../support/exact-jobs.js';
import { privateRedis, privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// A run leaves a job whose class no routing knows (a removed worker) on the queue it retires. Once
// nothing fetches from that queue, the job never runs: the summary said only "1 left in place",
// and drain-check, run later, was the first to say STUCK. The summary now says where those jobs
// sit nobody fetches from, and what to do: with live processes, by their queue lists (as for the
// queues jobs were put on); with none live, by the routing, which retires the queue.
const redis = privateRedis();
const keys = new SidekiqKeys('');
const dir = mkdtempSync(join(tmpdir(), 'cli-left-unheard-'));
const mapping = join(dir, 'mapping.json');
writeFileSync(mapping, JSON.stringify({ A: 'new' }));
const now = () => Math.floor(Date.now() / 1000);
const job = (className: string, queue: string, i: number) => sidekiqPayload({ className, queue, args: `[${i}]`, jid: `${className}${i}`.padStart(24, '0') });
const last = (text: string) => text.trimEnd().split('\n').at(-1);

async function seed(): Promise<{ a: string[]; removed: string }> {
  const source = redis.client();
  const a = [0, 1].map((i) => job('A', 'post_receive', i));
  const removed = job('RemovedWorker', 'post_receive', 2);
  await source.lpush('queue:post_receive', ...a, removed);
  await source.sadd('queues', 'post_receive');
  return { a, removed };
}

const advice = 'Route their class (catalog, rules or mapping) and run again, run again with --unmapped quarantine, or give those queues a listener (drain-check: orphans).';

describe('jobs left in place on queues nobody fetches from', { timeout: 180_000 }, () => {
  it('with a live process listening to the new queues only: named in "Needs a look", the verdict and --json, dry and for real, exit 0', async () => {
    const { a, removed } = await seed();
    await heartbeat(redis.client(), keys, 'web:1:aaaaaaaaaaaa', ['new'], { beatAt: now() });

    const dry = await runCli('run', '--redis', redis.url(), '--mapping', mapping, '--dry-run');
    const run = await runCli('run', '--redis', redis.url(), '--mapping', mapping);

    const warning = (verb: string) =>
      `Nobody fetches from 1 queue(s) this run ${verb} jobs in place on (post_receive 1): none of the 1 live Sidekiq process(es) on this Redis listens to them, so those jobs never run as things stand. ${advice}`;
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(warning('would leave'));
    expect(last(dry.stdout)).toBe('Dry run, nothing written: a run would move 2 job(s) and leave jobs behind: 1 left in place, 1 of them where nobody fetches (see "Needs a look" above).');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(warning('left'));
    expect(last(run.stdout)).toBe('Done, but jobs were left behind: 1 left in place, 1 of them where nobody fetches (see "Needs a look" above).');
    await expectExactJobs(redis.client(), '', [...a.map((p) => jobEntry('queue:new', withQueue(p, 'post_receive', 'new'))), jobEntry('queue:post_receive', removed)]);

    // Run again: nothing moves, the job is still there, and still said (in --json too).
    const json = await runCli('run', '--redis', redis.url(), '--mapping', mapping, '--json');
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(parsed).toMatchObject({ leftUnheard: { liveProcesses: 1, total: 1, queues: [{ queue: 'post_receive', jobs: 1 }] }, verdict: { state: 'done-but' } });
    expect((parsed['verdict'] as { line: string }).line).toContain('1 left in place, 1 of them where nobody fetches');
  });

  it('with no live process (Sidekiq stopped for the migration): the routing retires the queue, so said all the same', async () => {
    const { a, removed } = await seed();
    // A process that stopped more than a minute ago, which listened to the old queue.
    await heartbeat(redis.client(), keys, 'web:1:bbbbbbbbbbbb', ['post_receive'], { beatAt: now() - 120, stale: true });

    const run = await runCli('run', '--redis', redis.url(), '--mapping', mapping);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `Nobody fetches from 1 queue(s) this run left jobs in place on (post_receive 1): no live Sidekiq process runs on this Redis and the routing retires those queues, so once Sidekiq runs on it those jobs never run. ${advice}`,
    );
    expect(last(run.stdout)).toBe('Done, but jobs were left behind: 1 left in place, 1 of them where nobody fetches (see "Needs a look" above).');
    await expectExactJobs(redis.client(), '', [...a.map((p) => jobEntry('queue:new', withQueue(p, 'post_receive', 'new'))), jobEntry('queue:post_receive', removed)]);
  });

  it('says nothing more while a live process still fetches from that queue', async () => {
    const { a, removed } = await seed();
    await heartbeat(redis.client(), keys, 'web:1:cccccccccccc', ['new', 'post_receive'], { beatAt: now() });

    const run = await runCli('run', '--redis', redis.url(), '--mapping', mapping);

    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain('Nobody fetches');
    expect(last(run.stdout)).toBe('Done, but jobs were left behind: 1 left in place (see "Needs a look" above).');
    await expectExactJobs(redis.client(), '', [...a.map((p) => jobEntry('queue:new', withQueue(p, 'post_receive', 'new'))), jobEntry('queue:post_receive', removed)]);
  });
});

describe('move --classes leaving an unparsable job on a source queue nobody fetches from', { timeout: 180_000 }, () => {
  const both = privateSourceAndTarget();
  it('names it under "Needs a look" and in the verdict (the source\'s live processes say), exit 0', async () => {
    const source = both.source();
    const taken = job('A', 'old', 1);
    await source.lpush('queue:old', taken, 'not a job');
    await source.sadd('queues', 'old');
    // The source's Sidekiq still runs, for the classes a selective move leaves there, but not on `old`.
    await heartbeat(source, keys, 'web:1:dddddddddddd', ['default'], { beatAt: now() });

    const move = await runCli('move', '--from', both.urls().source, '--to', both.urls().target, '--classes', 'A');

    expect(move.code).toBe(0);
    expect(move.stdout).toContain(
      'Nobody fetches from 1 queue(s) this run left jobs in place on (old 1): none of the 1 live Sidekiq process(es) on the source listens to them, so those jobs never run as things stand. Give those queues a listener on the source, or move or delete those jobs by hand (drain-check of the source: orphans).',
    );
    expect(last(move.stdout)).toBe('Done, but jobs were left behind: 1 left in place, 1 of them where nobody fetches (see "Needs a look" above).');
    await expectExactJobs(source, '', [jobEntry('queue:old', 'not a job')]);
    await expectExactJobs(both.target(), '', [jobEntry('queue:old', taken)]);
  });
});
