import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { expectExactJobs, jobEntry, withQueue } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// A re-route leaves a `schedule`, `retry` or `dead` entry whose class no routing knows (a removed
// worker) as it is: its payload still names the queue it came from, which the routing retires.
// When it comes due, Sidekiq's poller pushes it there (a dead one: when someone retries it), where
// nobody fetches. The summary's "left in place where nobody fetches" named only jobs left in
// lists: the verdict said "1 left in place" and nothing more, and only a drain-check run later
// said those entries will land where nobody fetches. The summary now names them too, counted by
// the run's pages as they read the sets (no second reading), capped as the lists' names are.
const redis = privateRedis();
const keys = new SidekiqKeys('');
const dir = mkdtempSync(join(tmpdir(), 'cli-left-unheard-sets-'));
const mapping = join(dir, 'mapping.json');
writeFileSync(mapping, JSON.stringify({ A: 'new' }));
const now = () => Math.floor(Date.now() / 1000);
const job = (className: string, queue: string, i: number) => sidekiqPayload({ className, queue, args: `[${i}]`, jid: `${className}${i}`.padStart(24, '0') });
const last = (text: string) => text.trimEnd().split('\n').at(-1);
const due = 1_900_000_000;

interface Seeded {
  readonly moved: string;
  readonly retried: string;
  readonly died: string;
}

/** A routable entry in `schedule`; in `retry` and `dead` entries of a removed worker naming post_receive. */
async function seed(): Promise<Seeded> {
  const c = redis.client();
  const moved = job('A', 'post_receive', 0);
  const retried = job('RemovedWorker', 'post_receive', 1);
  const died = job('RemovedWorker', 'post_receive', 2);
  await c.zadd('schedule', String(due), moved);
  await c.zadd('retry', String(due + 1), retried);
  await c.zadd('dead', String(due + 2), died);
  return { moved, retried, died };
}

const exactly = async ({ moved, retried, died }: Seeded, more: readonly string[] = []) =>
  expectExactJobs(redis.client(), '', [jobEntry('schedule', withQueue(moved, 'post_receive', 'new'), due), jobEntry('retry', retried, due + 1), jobEntry('dead', died, due + 2), ...more]);

const advice = 'Route their class (catalog, rules or mapping) and run again, or give those queues a listener (drain-check: "for queues nobody fetches" per set).';

describe('schedule, retry and dead entries left in place naming queues nobody fetches from', { timeout: 180_000 }, () => {
  it('with a live process listening to the new queue only: named in "Needs a look", the verdict and --json, dry and for real, exit 0', async () => {
    const seeded = await seed();
    await heartbeat(redis.client(), keys, 'web:1:aaaaaaaaaaaa', ['new'], { beatAt: now() });

    const dry = await runCli('run', '--redis', redis.url(), '--mapping', mapping, '--dry-run');
    const run = await runCli('run', '--redis', redis.url(), '--mapping', mapping);

    const warning = (verb: string) =>
      `Nobody fetches from 1 queue(s) that 2 schedule, retry or dead entries this run ${verb} in place name (post_receive 2): none of the 1 live Sidekiq process(es) on this Redis listens to them, so when those entries come due (a dead one: when retried) they land there and never run as things stand. ${advice}`;
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(warning('would leave'));
    expect(last(dry.stdout)).toBe('Dry run, nothing written: a run would move 1 job(s) and leave jobs behind: 2 left in place, 2 of them in sets for queues nobody fetches (see "Needs a look" above).');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(warning('left'));
    expect(last(run.stdout)).toBe('Done, but jobs were left behind: 2 left in place, 2 of them in sets for queues nobody fetches (see "Needs a look" above).');
    await exactly(seeded);

    const json = await runCli('run', '--redis', redis.url(), '--mapping', mapping, '--json');
    expect(json.code, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(parsed).toMatchObject({ leftUnheardInSets: { liveProcesses: 1, total: 1, queues: [{ queue: 'post_receive', jobs: 2 }] }, verdict: { state: 'done-but' } });
    expect(parsed['leftUnheard']).toBeUndefined();
    await exactly(seeded);
  });

  it('with no live process, the routing retires those queues: said all the same, beside a list\'s job left in place, the queues capped at ten', async () => {
    const seeded = await seed();
    const c = redis.client();
    // Eleven more queues, each with a retry entry of a removed worker: 12 queues, ten named.
    const more: string[] = [];
    for (let i = 0; i < 11; i++) {
      const entry = job('RemovedWorker', `gone_${String(i).padStart(2, '0')}`, 10 + i);
      await c.zadd('retry', String(due + 10 + i), entry);
      more.push(jobEntry('retry', entry, due + 10 + i));
    }
    const listed = job('RemovedWorker', 'post_receive', 3);
    await c.lpush('queue:post_receive', listed);
    await c.sadd('queues', 'post_receive');
    // A process that stopped more than a minute ago, which listened to the old queue.
    await heartbeat(c, keys, 'web:1:bbbbbbbbbbbb', ['post_receive'], { beatAt: now() - 120, stale: true });

    const run = await runCli('run', '--redis', redis.url(), '--mapping', mapping);

    expect(run.code, run.stderr).toBe(0);
    const named = ['post_receive 2', ...Array.from({ length: 9 }, (_, i) => `gone_${String(i).padStart(2, '0')} 1`)].join(' · ');
    expect(run.stdout).toContain(
      `Nobody fetches from 12 queue(s) that at least 11 schedule, retry or dead entries this run left in place name (${named} · … and 2 more): no live Sidekiq process runs on this Redis and the routing retires those queues, so once Sidekiq runs on it those entries land there when due (a dead one: when retried) and never run. ${advice}`,
    );
    expect(run.stdout).toContain('Nobody fetches from 1 queue(s) this run left jobs in place on (post_receive 1)');
    expect(last(run.stdout)).toBe('Done, but jobs were left behind: 14 left in place, 1 of them where nobody fetches and at least 11 in sets for queues nobody fetches (see "Needs a look" above).');
    await exactly(seeded, [...more, jobEntry('queue:post_receive', listed)]);
  });

  // The originals of conflicts (an entry whose rewrite is in the set already: the same job twice)
  // stay as they were, naming their old queue, and were not counted; unparsable entries, whose
  // queue cannot be read, were silently left out of the count. Both now said, dry and for real.
  it('counts the originals of conflicts under the queue they name, and names unparsable entries as naming no queue it can read', async () => {
    const seeded = await seed();
    const c = redis.client();
    const twice = job('A', 'post_receive', 5);
    const twiceRouted = withQueue(twice, 'post_receive', 'new');
    await c.zadd('schedule', String(due + 5), twice);
    await c.zadd('schedule', String(due + 6), twiceRouted);
    // The same from another queue, on the same page: its conflict is counted under that queue.
    const elsewhere = job('A', 'other_q', 9);
    const elsewhereRouted = withQueue(elsewhere, 'other_q', 'new');
    await c.zadd('schedule', String(due + 9), elsewhere);
    await c.zadd('schedule', String(due + 10), elsewhereRouted);
    const queueNumber = '{"class":"RemovedWorker","queue":7,"args":[],"jid":"000000000000000000000007"}';
    const broken = '{"class":"RemovedWorker","queue":"post_rec';
    await c.zadd('retry', String(due + 7), queueNumber);
    await c.zadd('dead', String(due + 8), broken);
    await heartbeat(c, keys, 'web:1:dddddddddddd', ['new'], { beatAt: now() });
    const more = [jobEntry('schedule', twice, due + 5), jobEntry('schedule', twiceRouted, due + 6), jobEntry('retry', queueNumber, due + 7), jobEntry('dead', broken, due + 8), jobEntry('schedule', elsewhere, due + 9), jobEntry('schedule', elsewhereRouted, due + 10)];

    const dry = await runCli('run', '--redis', redis.url(), '--mapping', mapping, '--dry-run');
    const run = await runCli('run', '--redis', redis.url(), '--mapping', mapping);

    const warning = (verb: string) =>
      `Nobody fetches from 2 queue(s) that 4 schedule, retry or dead entries this run ${verb} in place name (post_receive 3 · other_q 1): none of the 1 live Sidekiq process(es) on this Redis listens to them, so when those entries come due (a dead one: when retried) they land there and never run as things stand. ${advice}`;
    const unreadable = (verb: string) =>
      `2 unparsable schedule, retry or dead entries this run ${verb} in place name no queue it can read: where Sidekiq's poller would push them when due (a dead one: when retried), and whether anybody fetches there, is not known. Mend or delete them by hand (the samples of unparsable jobs show some; drain-check counts them among the entries for queues nobody fetches).`;
    for (const [out, verb, verdict] of [
      [dry, 'would leave', 'Dry run, nothing written: a run would move 1 job(s) and leave jobs behind: 6 left in place, 4 of them in sets for queues nobody fetches and 2 in sets naming no queue it can read (see "Needs a look" above).'],
      [run, 'left', 'Done, but jobs were left behind: 6 left in place, 4 of them in sets for queues nobody fetches and 2 in sets naming no queue it can read (see "Needs a look" above).'],
    ] as const) {
      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout).toContain(warning(verb));
      expect(out.stdout).toContain(unreadable(verb));
      expect(last(out.stdout)).toBe(verdict);
    }
    await exactly(seeded, more);

    const json = await runCli('run', '--redis', redis.url(), '--mapping', mapping, '--json');
    expect(json.code, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(parsed).toMatchObject({ leftUnheardInSets: { liveProcesses: 1, total: 2, queues: [{ queue: 'post_receive', jobs: 3 }, { queue: 'other_q', jobs: 1 }] }, leftInSetsUnreadable: { jobs: 2 } });
    await exactly(seeded, more);

    // drain-check reads every entry: the conflicts' originals by the queue they name, the
    // unparsable ones (no queue it can read) among those for queues nobody fetches.
    const check = await runCli('drain-check', '--redis', redis.url(), '--json');
    const sets = (JSON.parse(check.stdout) as { sets: Record<string, { total: number; orphaned: number }> }).sets;
    expect({ schedule: sets['schedule'], retry: sets['retry'], dead: sets['dead'] }).toMatchObject({ schedule: { total: 5, orphaned: 2 }, retry: { total: 2, orphaned: 2 }, dead: { total: 2, orphaned: 2 } });
    await exactly(seeded, more);
  });

  it('names unparsable entries left in the sets even when every queue they could name is fetched', async () => {
    const c = redis.client();
    const broken = '{"class":"RemovedWorker","queue":"post_rec';
    await c.zadd('retry', String(due), broken);
    await heartbeat(c, keys, 'web:1:eeeeeeeeeeee', ['new', 'post_receive'], { beatAt: now() });

    const run = await runCli('run', '--redis', redis.url(), '--mapping', mapping);

    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).not.toContain('Nobody fetches');
    expect(run.stdout).toContain('1 unparsable schedule, retry or dead entries this run left in place name no queue it can read');
    expect(last(run.stdout)).toBe('Done, but jobs were left behind: 1 left in place, 1 of them in sets naming no queue it can read (see "Needs a look" above).');
    await expectExactJobs(c, '', [jobEntry('retry', broken, due)]);
  });

  it('says nothing more while a live process still fetches from that queue', async () => {
    const seeded = await seed();
    await heartbeat(redis.client(), keys, 'web:1:cccccccccccc', ['new', 'post_receive'], { beatAt: now() });

    const run = await runCli('run', '--redis', redis.url(), '--mapping', mapping);

    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).not.toContain('Nobody fetches');
    expect(last(run.stdout)).toBe('Done, but jobs were left behind: 2 left in place (see "Needs a look" above).');
    await exactly(seeded);
  });
});
