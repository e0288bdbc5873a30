// `move`'s "Done, but jobs remain on the source (N, above): run move again. M of the jobs moved went
// to queues listened to only by Sidekiq processes that may have been killed (…)" had no test:
// reaching it takes jobs arriving on the source during the move (a producer still pushing, as
// cli-stranded) and a destination queue that, on the target, only a process not heard from for
// more than 3 beats listens to. The heartbeat is written as a killed process leaves it: `beat`
// 25 s old (5 s beats: silent after 15 s), its hash expiring 60 s after that beat, 35 s from
// now (room for a slow move on a loaded machine); another process on the target beats elsewhere.
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { expectExactJobs, jobEntry } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const now = () => Date.now() / 1000;
const SILENT = 'worker-1:4242:0a1b2c3d4e5f';
const job = (i: number, queue = 'q') => sidekiqPayload({ className: 'A', queue, args: `[${i}]`, jid: String(i).padStart(24, '0') });
const last = (text: string) => text.trimEnd().split('\n').at(-1);
const ORIGINALS = 2000;

/** The target as a killed process leaves it, beside one that beats: only the silent one listens to q. */
async function processesOnTarget(target: Redis, silentQueues: readonly string[] = ['q']): Promise<void> {
  await heartbeat(target, keys, 'new:1:eeeeeeeeeeee', ['default'], { beatAt: now() });
  await heartbeat(target, keys, SILENT, silentQueues, { beatAt: now() - 25, beating: false });
  await target.pexpire(SILENT, 35_000);
}

/** `move` while a producer keeps pushing to the source's queue:q on its own connection; what it pushed, in order. */
async function moveWhilePushing(first: number, ...extra: string[]): Promise<{ result: Awaited<ReturnType<typeof runCli>>; produced: string[] }> {
  const producer = new Redis(redis.urls().source, { protocol: 2 });
  const produced: string[] = [];
  let running = true;
  const pushing = (async () => {
    while (running) {
      const p = job(first + produced.length);
      produced.push(p);
      await producer.lpush('queue:q', p);
    }
  })();
  const result = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--page-size', '100', ...extra);
  running = false;
  await pushing;
  producer.disconnect();
  return { result, produced };
}

describe('move: jobs arrive on the source meanwhile, and only a process not heard from listens to their queue on the target', { timeout: 240_000 }, () => {
  it('"Done, but jobs remain on the source" says both, exit 0, every job once; --json has leftOnSource and unheardSilent', async () => {
    const [source, target] = [redis.source(), redis.target()];
    const originals = Array.from({ length: ORIGINALS }, (_, i) => job(i));
    for (let i = 0; i < originals.length; i += 500) await source.lpush('queue:q', ...originals.slice(i, i + 500));
    await source.sadd('queues', 'q');
    await processesOnTarget(target);

    const { result: move, produced } = await moveWhilePushing(100_000);
    expect(move.code, move.stderr).toBe(0);
    // The move takes from the right end (the oldest): what stays is the producer's newest.
    const late = await source.llen('queue:q');
    expect(late).toBeGreaterThan(0);
    const early = produced.length - late;
    const moved = [...originals, ...produced.slice(0, early)];
    await expectExactJobs(source, '', produced.slice(early).map((p) => jobEntry('queue:q', p)), 'source');
    await expectExactJobs(target, '', moved.map((p) => jobEntry('queue:q', p)), 'target');

    const said = /^Done, but jobs remain on the source \(([\d,]+), above\): run move again\. (.*)$/m.exec(move.stdout);
    expect(said, move.stdout).not.toBeNull();
    const remain = Number(said![1]!.replace(/,/g, ''));
    expect(remain).toBeGreaterThan(0);
    expect(remain).toBeLessThanOrEqual(late);
    expect(last(move.stdout)).toBe(
      `Done, but jobs remain on the source (${remain.toLocaleString('en-US')}, above): run move again. ${moved.length.toLocaleString('en-US')} of the jobs moved went to queues listened to only by Sidekiq processes that may have been killed (see "Needs a look" above).`,
    );
    expect(move.stdout).toMatch(
      new RegExp(
        `\\nOnly Sidekiq processes not heard from for (2\\d|3\\d|4\\d|5\\d) s \\(they may have been killed\\) listen to 1 queue\\(s\\) this run put jobs on \\(q ${moved.length.toLocaleString('en-US')}\\): none of the 1 other live Sidekiq process\\(es\\) on the target listens to them, so if those were killed the jobs wait until a process fetches from those queues\\.`,
      ),
    );
    expect(move.stdout).not.toContain('Complete');

    // Again with --json: the jobs left, and the producer still pushing.
    await processesOnTarget(target);
    const before = await target.llen('queue:q');
    const { result: json, produced: more } = await moveWhilePushing(200_000, '--json');
    expect(json.code, json.stderr).toBe(0);
    const late2 = await source.llen('queue:q');
    expect(late2).toBeGreaterThan(0);
    const early2 = more.length - late2;
    const moved2 = [...produced.slice(early), ...more.slice(0, early2)];
    await expectExactJobs(source, '', more.slice(early2).map((p) => jobEntry('queue:q', p)), 'source after --json');
    await expectExactJobs(target, '', [...moved, ...moved2].map((p) => jobEntry('queue:q', p)), 'target after --json');
    expect(await target.llen('queue:q')).toBe(before + moved2.length);
    const summary = JSON.parse(json.stdout) as {
      complete: boolean;
      unheard?: unknown;
      totals: { leftOnSource?: number; leftUncounted?: number };
      unheardSilent?: { queues: unknown; total: number; silentSeconds: number; beatingProcesses: number };
    };
    expect(summary.complete).toBe(true);
    expect(summary).not.toHaveProperty('unheard');
    expect(summary.totals.leftOnSource).toBeGreaterThan(0);
    expect(summary.totals.leftOnSource).toBeLessThanOrEqual(late2);
    expect(summary.unheardSilent).toMatchObject({ queues: [{ queue: 'q', jobs: moved2.length }], total: 1, beatingProcesses: 1 });
    expect(summary.unheardSilent!.silentSeconds).toBeGreaterThan(15);
  });

  it('more such queues than a summary names, and one nobody fetches from: "At least" of the jobs moved, both sentences, every job once', async () => {
    const [source, target] = [redis.source(), redis.target()];
    // q (500 jobs and the producer's) and s2..s10 (2..10 jobs) are named; s1 (1 job) is the 11th, counted but not named.
    const originals = Array.from({ length: 500 }, (_, i) => job(i));
    await source.lpush('queue:q', ...originals);
    const others = Array.from({ length: 10 }, (_, k) => Array.from({ length: k + 1 }, (_, i) => job(1000 * (k + 1) + i, `s${k + 1}`)));
    for (const [k, jobs] of others.entries()) await source.lpush(`queue:s${k + 1}`, ...jobs);
    const lonely = job(50_000, 'lonely');
    await source.lpush('queue:lonely', lonely);
    await source.sadd('queues', 'q', 'lonely', ...others.map((_, k) => `s${k + 1}`));
    await processesOnTarget(target, ['q', ...others.map((_, k) => `s${k + 1}`)]);

    const { result: move, produced } = await moveWhilePushing(100_000);
    expect(move.code, move.stderr).toBe(0);
    const late = await source.llen('queue:q');
    expect(late).toBeGreaterThan(0);
    const early = produced.length - late;
    const toQ = [...originals, ...produced.slice(0, early)];
    await expectExactJobs(source, '', produced.slice(early).map((p) => jobEntry('queue:q', p)), 'source');
    await expectExactJobs(
      target,
      '',
      [...toQ.map((p) => jobEntry('queue:q', p)), ...others.flatMap((jobs, k) => jobs.map((p) => jobEntry(`queue:s${k + 1}`, p))), jobEntry('queue:lonely', lonely)],
      'target',
    );
    const said = /^Done, but jobs remain on the source \(([\d,]+), above\)/m.exec(move.stdout);
    expect(said, move.stdout).not.toBeNull();
    const remain = Number(said![1]!.replace(/,/g, ''));
    expect(remain).toBeGreaterThan(0);
    expect(remain).toBeLessThanOrEqual(late);
    // The named ten: q and s10..s2 (2 + … + 10 = 54); s1's one job is beyond them, hence "At least".
    expect(last(move.stdout)).toBe(
      `Done, but jobs remain on the source (${remain.toLocaleString('en-US')}, above): run move again. 1 of the jobs moved went to queues nobody fetches from (see "Needs a look" above). At least ${(toQ.length + 54).toLocaleString('en-US')} of the jobs moved went to queues listened to only by Sidekiq processes that may have been killed (see "Needs a look" above).`,
    );
    expect(move.stdout).toContain(`listen to 11 queue(s) this run put jobs on (q ${toQ.length.toLocaleString('en-US')} · s10 10 · s9 9 · s8 8 · s7 7 · s6 6 · s5 5 · s4 4 · s3 3 · s2 2 · … and 1 more)`);
    expect(move.stdout).not.toContain('Complete');
  });
});
