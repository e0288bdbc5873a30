import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LuaScript } from '../../core/redis/lua-script.js';
import { jobEntry, jobsIn, withQueue } from '../support/exact-jobs.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// An operator took a command away from the run's user while it ran (`ACL SETUSER app -lpush`,
// after the run's start-up check had found it). Redis checks a command inside a script only when
// the script calls it, and keeps what the script did before: a re-route's step removed its jobs
// from queue:old (LREM) and was stopped at its LPUSH, a set's step removed its entries (ZREM) and
// was stopped at the ZADD, a transfer's claim popped its jobs off the source and was stopped at
// the push into flight: each of those jobs lost ("ERR The user executing the script can't run
// this command", exit 1). Every step that writes now asks Redis first (redis.acl_check_cmd,
// core/redis/lua/lib/guards.lua): the step is refused whole, the run stops saying which command
// it may not run and where, exit 1, every job exactly once; the same command, once the command is
// granted again, finishes the run.
let server: RedisServerHandle;
let admin: Redis;
beforeAll(async () => {
  server = await startRedisServer(['--user', 'default', 'on', 'nopass', '~*', '&*', '+@all', '--user', 'app', 'on', '>pw', '~*', '&*', '+@all']);
  admin = new Redis(server.url, { protocol: 2 });
});
afterAll(async () => {
  admin.disconnect();
  await server.stop();
});
afterEach(() => vi.restoreAllMocks());

const app = () => server.url.replace('redis://', 'redis://app:pw@');
const grantAll = () => admin.call('ACL', 'SETUSER', 'app', 'reset', 'on', '>pw', '~*', '&*', '+@all');

/**
 * Runs `takeAway` (an ACL SETUSER on the run's user) just before the `nth` call (runAll) of the
 * script whose name starts with `script`: between two of a run's steps. Returns how often it ran.
 */
function takeAwayBefore(script: string, nth: number, takeAway: () => Promise<unknown>): { cuts: () => number; errors: string[] } {
  const runAll = LuaScript.prototype.runAll;
  let calls = 0;
  let cuts = 0;
  const errors: string[] = [];
  vi.spyOn(LuaScript.prototype, 'runAll').mockImplementation(async function (this: LuaScript, client, luaCalls, before, onSent) {
    const ours = this.name.startsWith(`${script}-`);
    if (ours && ++calls === nth) {
      cuts++;
      await takeAway();
    }
    // What Redis answered the script's calls that failed, as it said it.
    return runAll.call(this, client, luaCalls, before, onSent).catch((error: unknown) => {
      if (ours) errors.push(String((error as Error).message));
      throw error;
    });
  });
  return { cuts: () => cuts, errors };
}

/** The payload of every list entry on the server's database (hex), our in-flight lists included. */
async function listedOn(redis: Redis): Promise<string[]> {
  const all: string[] = [];
  for (const key of await redis.keys('*')) {
    if ((await redis.type(key)) === 'list') all.push(...(await redis.lrangeBuffer(key, 0, -1)).map((b) => b.toString('hex')));
  }
  return all;
}

const refusal = (command: string, key: string) =>
  `the user may not run ${command} on ${key}, which this step needs (its ACL changed after the run's start-up check); this step was refused before it wrote anything. Grant it (ACL SETUSER … +${command.toLowerCase()}) or use another user, then run the same command again.`;

describe("a command taken from the run's user during the run", { timeout: 120_000 }, () => {
  it('run --append, LPUSH taken before the 2nd page of queue:old: refused whole, exit 1 naming LPUSH and queue:new, every job once; granted again, the same command finishes', async () => {
    await grantAll();
    await admin.flushall();
    const payloads = Array.from({ length: 30 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
    await admin.rpush('queue:old', ...payloads);
    await admin.sadd('queues', 'old');
    const { cuts, errors } = takeAwayBefore('rerouteQueueJobs', 2, () => admin.call('ACL', 'SETUSER', 'app', '-lpush'));

    const { code, stdout, stderr } = await runCli('run', '--redis', app(), '--rename', 'old=new', '--append', '--page-size', '10');

    expect(cuts()).toBe(1);
    // The refused call (and the page task's retry of it, refused the same): nothing else failed.
    expect(new Set(errors)).toEqual(new Set(['NOPERM sidekiq-migrate: the user may not run LPUSH; this call was refused before it wrote anything (key queue:new)']));
    expect(code, stderr + stdout).toBe(1);
    expect(stderr + stdout).toContain(refusal('LPUSH', 'queue:new'));
    expect(stderr + stdout).not.toMatch(/Complete|Unexpected|can't run this command/);
    // Every job exactly once: the first page's 10 on queue:new (rewritten), the other 20 on queue:old as they were.
    const after = await jobsIn(admin);
    const moved = payloads.filter((p) => after.includes(jobEntry('queue:new', withQueue(p, 'old', 'new'))));
    expect(moved).toHaveLength(10);
    expect(after).toEqual([...moved.map((p) => jobEntry('queue:new', withQueue(p, 'old', 'new'))), ...payloads.filter((p) => !moved.includes(p)).map((p) => jobEntry('queue:old', p))].sort());

    vi.restoreAllMocks();
    await grantAll();
    const again = await runCli('run', '--redis', app(), '--rename', 'old=new', '--append', '--page-size', '10');
    expect(again.code, again.stderr + again.stdout).toBe(0);
    expect(again.stdout).toMatch(/^Complete/m);
    expect(await jobsIn(admin)).toEqual(payloads.map((p) => jobEntry('queue:new', withQueue(p, 'old', 'new'))).sort());
  });

  it('run, ZADD taken before the 2nd page of schedule: refused whole, exit 1 naming ZADD and schedule, every entry once with its score', async () => {
    await grantAll();
    await admin.flushall();
    const entries = Array.from({ length: 30 }, (_, i) => ({ payload: sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }), score: String(1795459303 + i) }));
    for (const e of entries) await admin.zadd('schedule', e.score, e.payload);
    const { cuts, errors } = takeAwayBefore('rerouteSetEntries', 2, () => admin.call('ACL', 'SETUSER', 'app', '-zadd'));

    const { code, stdout, stderr } = await runCli('run', '--redis', app(), '--rename', 'old=new', '--page-size', '10');

    expect(cuts()).toBe(1);
    expect(new Set(errors)).toEqual(new Set(['NOPERM sidekiq-migrate: the user may not run ZADD; this call was refused before it wrote anything (key schedule)']));
    expect(code, stderr + stdout).toBe(1);
    expect(stderr + stdout).toContain(refusal('ZADD', 'schedule'));
    expect(stderr + stdout).not.toMatch(/Complete|Unexpected|can't run this command/);
    const after = await jobsIn(admin);
    const moved = entries.filter((e) => after.includes(jobEntry('schedule', withQueue(e.payload, 'old', 'new'), e.score)));
    // The first page's entries moved (ZSCAN's page: about 10), none of the refused one's.
    expect(moved.length).toBeGreaterThan(0);
    expect(moved.length).toBeLessThan(30);
    expect(after).toEqual(entries.map((e) => (moved.includes(e) ? jobEntry('schedule', withQueue(e.payload, 'old', 'new'), e.score) : jobEntry('schedule', e.payload, e.score))).sort());

    vi.restoreAllMocks();
    await grantAll();
    const again = await runCli('run', '--redis', app(), '--rename', 'old=new', '--page-size', '10');
    expect(again.code, again.stderr + again.stdout).toBe(0);
    expect(await jobsIn(admin)).toEqual(entries.map((e) => jobEntry('schedule', withQueue(e.payload, 'old', 'new'), e.score)).sort());
  });

  for (const [what, script, command, key, again] of [
    // The claim may push back onto the source (jobs past a slice's byte bound): named first.
    ["the source's claim, RPUSH taken before the 2nd slice's claim", 'claimQueueJobs', 'RPUSH', 'queue:default', true],
    // Without SET the clean-up after the failure (the stop marker) is refused too, and the locks
    // stay (the CLI says so): the same command is not run again here.
    ["the source's acknowledge, SET taken before the 2nd slice's acknowledge", 'acknowledgeQueueBatch', 'SET', 'sidekiq-migrate:\\S+', false],
  ] as const) {
    it(`move, ${what}: refused whole, exit 1 naming ${command}, every job once (source, in flight or target)${again ? '; granted again, the same command finishes' : ''}`, async () => {
      await grantAll();
      await admin.flushall();
      const payloads = Array.from({ length: 30 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]` }));
      await admin.rpush('queue:default', ...payloads);
      await admin.sadd('queues', 'default');
      const target = new Redis(`${server.url}/1`, { protocol: 2 });
      try {
        const { cuts, errors } = takeAwayBefore(script, 2, () => admin.call('ACL', 'SETUSER', 'app', `-${command.toLowerCase()}`));

        const { code, stdout, stderr } = await runCli('move', '--from', app(), '--to', `${server.url}/1`, '--page-size', '10');

        expect(cuts()).toBe(1);
        // The step itself refused whole (what the CLI shows may be the clean-up's refusal after it: SET).
        expect(errors.length).toBeGreaterThan(0);
        for (const error of errors) expect(error).toMatch(new RegExp(`^NOPERM sidekiq-migrate: the user may not run ${command}; this call was refused before it wrote anything \\(key ${key}\\)$`));
        expect(code, stderr + stdout).toBe(1);
        expect(stderr + stdout).toMatch(new RegExp(`the user may not run ${command} on ${key}, which this step needs \\(its ACL changed after the run's start-up check\\); this step was refused before it wrote anything\\.`));
        expect(stderr + stdout).not.toMatch(/Complete|Unexpected|can't run this command/);
        // Every job exactly once: still queued, in flight on the source, or on the target.
        const source = await listedOn(admin);
        const copied = (await jobsIn(target)).filter((e) => e.startsWith('queue:default\t')).map((e) => e.split('\t')[1]!);
        const hex = payloads.map((p) => Buffer.from(p).toString('hex'));
        const onSource = source.filter((h) => hex.includes(h));
        const acknowledged = copied.filter((h) => !onSource.includes(h));
        expect([...onSource, ...acknowledged].sort()).toEqual([...hex].sort());

        if (!again) return;
        vi.restoreAllMocks();
        await grantAll();
        const rerun = await runCli('move', '--from', app(), '--to', `${server.url}/1`, '--page-size', '10');
        expect(rerun.code, rerun.stderr + rerun.stdout).toBe(0);
        expect(await jobsIn(target)).toEqual(payloads.map((p) => jobEntry('queue:default', p)).sort());
        expect((await listedOn(admin)).filter((h) => hex.includes(h))).toEqual([]);
      } finally {
        target.disconnect();
      }
    });
  }
});
