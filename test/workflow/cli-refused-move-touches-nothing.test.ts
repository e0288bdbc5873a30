// A `move` refused as bad input leaves both Redis servers exactly as they were: every key's type,
// value and expiry (keyValueSnapshot) on the source and on the target, before and after. The plan
// named its target (SET NX of `sidekiq-migrate:target-id`) before it looked at what it would have
// to refuse: a move refused because jobs are in flight for another target, or because a queue
// key holds another type or a queue's name is too long, still wrote the new target's id there.
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { commandsDuring, writesAmong } from '../support/monitor-writes.js';
import { privateRedis, privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';

const redis = privateSourceAndTarget();
const other = privateRedis();
const cli = runCli;

/** A transfer to the first target interrupted with 3 jobs in flight for it (keys of the wrong type there stop each write after its claim). */
async function jobsInFlightForTheFirstTarget(): Promise<void> {
  const [source, target] = [redis.source(), redis.target()];
  await source.sadd('queues', 'a');
  await source.lpush('queue:a', sidekiqPayload({ className: 'A', queue: 'a', args: '[1]' }), sidekiqPayload({ className: 'A', queue: 'a', args: '[2]' }));
  await source.zadd('schedule', '1795459303.5', sidekiqPayload({ className: 'C', queue: 'a' }));
  for (const key of ['queue:a', 'schedule']) await target.set(key, 'not a job key');
  const first = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target);
  expect(first.code).toBe(1);
  expect((await source.keys('sidekiq-migrate:*:inflight:*')).sort()).toEqual([expect.stringMatching(/:inflight:queue:a$/), expect.stringMatching(/:inflight:schedule$/)]);
}

/**
 * Runs `args`, expecting a refusal with exit code `code`, and asserts both servers hold exactly
 * what they held before it (every key's type, value and expiry), and that no command that writes
 * reached either meanwhile: not even a lock taken and released (`expectedWrites`: those that may,
 * in order, each a script that refused writing nothing, the snapshots say).
 */
async function refusedTouchingNothing(code: number, args: readonly string[], expectedWrites: readonly RegExp[] = []): Promise<string> {
  const [source, target] = [redis.source(), other.client()];
  const before = { source: await keyValueSnapshot(source), target: await keyValueSnapshot(target) };
  const { result: refused, commands } = await commandsDuring({ source, target }, () => cli(...args));
  expect(refused.code, refused.stdout + refused.stderr).toBe(code);
  expect({ source: await keyValueSnapshot(source), target: await keyValueSnapshot(target) }).toEqual(before);
  expect(commands.length).toBeGreaterThan(0);
  const writes = await writesAmong(redis.source(), commands, 5);
  expect(writes).toHaveLength(expectedWrites.length);
  expectedWrites.forEach((expected, i) => expect(writes[i]).toMatch(expected));
  return refused.stdout + refused.stderr;
}

const inFlightElsewhere = (here: string) =>
  new RegExp(
    String.raw`3 job\(s\) are in flight from an interrupted transfer \(run transfer-[\w-]+\) to another target than redis://127\.0\.0\.1:\d+ \(target id [\w-]{16}; this one is ${here}: a Redis that lost its data, restarted empty or flushed, is named anew, so it may be that one\)\. ` +
      String.raw`They may already be written there, and writing them here too would run them twice\. Finish that run first: move again with --to that target\. If that target lost them \(restarted empty, flushed or gone\), ` +
      String.raw`delete their batch key\(s\) on the source \(sidekiq-migrate:transfer-[\w-]+:batch:queue:a sidekiq-migrate:transfer-[\w-]+:batch:schedule\) and run again: they are then written here\. No job was written or moved\.`,
  );

describe('a refused move touches neither Redis', () => {
  it('jobs in flight for another target, to a target no run has named yet: refused, and the target is not named by it', async () => {
    await jobsInFlightForTheFirstTarget();

    const said = await refusedTouchingNothing(1, ['move', '--from', redis.urls().source, '--to', other.url()]);

    expect(said).toMatch(inFlightElsewhere('not named yet'));
    expect(await other.client().dbsize()).toBe(0);
  });

  it('jobs in flight for another target, to a target named before: refused, its id and everything else as they were', async () => {
    await jobsInFlightForTheFirstTarget();
    await other.client().set('sidekiq-migrate:target-id', 'named-before-000');
    await other.client().rpush('queue:b', sidekiqPayload({ className: 'B', queue: 'b' }));

    const said = await refusedTouchingNothing(1, ['move', '--from', redis.urls().source, '--to', other.url()]);

    expect(said).toMatch(inFlightElsewhere('named-before-000'));
  });

  it('jobs in flight for another target by a run that still holds the lock: refused as locked, not as an interrupted transfer', async () => {
    await jobsInFlightForTheFirstTarget();
    const runId = (await redis.source().keys('sidekiq-migrate:*:inflight:queue:a'))[0]!.split(':')[1]!;
    const holder = { runId, operation: 'transfer', host: 'elsewhere', pid: 4242, startedAt: '2026-12-06T10:00:00.000Z', plannedAt: 1796556000000, expiresAt: Date.now() + 600_000 };
    await redis.source().set('sidekiq-migrate:lock', JSON.stringify(holder), 'PX', 600_000);

    // Refused from reads of the lock before any lock script runs (lock-held-by-another.ts).
    const said = await refusedTouchingNothing(1, ['move', '--from', redis.urls().source, '--to', other.url()]);

    expect(said).toMatch(new RegExp(String.raw`source redis://127\.0\.0\.1:\d+ is locked by run ${runId} \(transfer, elsewhere pid 4242, started 2026-12-06T10:00:00\.000Z\); the lock expires in \d+ s unless that run renews it\. Wait for it, or stop it\.`));
    expect(said).not.toContain('interrupted transfer');
  });

  it('jobs in flight for another target by a run that died, its lock expired: refused as an interrupted transfer, no lock taken and released', async () => {
    await jobsInFlightForTheFirstTarget();
    const runId = (await redis.source().keys('sidekiq-migrate:*:inflight:queue:a'))[0]!.split(':')[1]!;
    // Its lock stays as a key past its expiry (the expiry is in its value): the lock script would take it over, its holder dead.
    const holder = { runId, operation: 'transfer', host: 'elsewhere', pid: 4242, startedAt: '2026-12-06T10:00:00.000Z', plannedAt: 1796556000000, expiresAt: Date.now() - 60_000 };
    await redis.source().set('sidekiq-migrate:lock', JSON.stringify(holder));

    const said = await refusedTouchingNothing(1, ['move', '--from', redis.urls().source, '--to', other.url()]);

    expect(said).toMatch(inFlightElsewhere('not named yet'));
    expect(said).toContain(runId);
    expect(await other.client().dbsize()).toBe(0);
  });

  it("a target locked by another machine's run (its process may be dead, its lock unexpired): refused as locked, the source's lock not taken and released", async () => {
    await redis.source().lpush('queue:a', sidekiqPayload({ className: 'A', queue: 'a' }));
    const holder = { runId: 'transfer-20261206-100000-beef', operation: 'transfer', host: 'elsewhere', pid: 4242, startedAt: '2026-12-06T10:00:00.000Z', plannedAt: 1796556000000, expiresAt: Date.now() + 600_000 };
    await other.client().set('sidekiq-migrate:lock', JSON.stringify(holder));

    const said = await refusedTouchingNothing(1, ['move', '--from', redis.urls().source, '--to', other.url()]);

    expect(said).toMatch(new RegExp(String.raw`target redis://127\.0\.0\.1:\d+ is locked by run transfer-20261206-100000-beef \(transfer, elsewhere pid 4242, started 2026-12-06T10:00:00\.000Z\); the lock expires in \d+ s unless that run renews it\. Wait for it, or stop it\.`));
  });

  it("a re-route on a Redis locked by another machine's run: refused as locked, no lock script run", async () => {
    await redis.source().lpush('queue:a', sidekiqPayload({ className: 'A', queue: 'a' }));
    const holder = { runId: 'transfer-20261206-100000-beef', operation: 'transfer', host: 'elsewhere', pid: 4242, startedAt: '2026-12-06T10:00:00.000Z', plannedAt: 1796556000000, expiresAt: Date.now() + 600_000 };
    await redis.source().set('sidekiq-migrate:lock', JSON.stringify(holder));

    const said = await refusedTouchingNothing(1, ['run', '--redis', redis.urls().source, '--rename', 'a=b']);

    expect(said).toMatch(new RegExp(String.raw`source redis://127\.0\.0\.1:\d+ is locked by run transfer-20261206-100000-beef \(transfer, elsewhere pid 4242, started 2026-12-06T10:00:00\.000Z\); the lock expires in \d+ s unless that run renews it\. Wait for it, or stop it\.`));
  });

  describe('jobs in flight of a run of this machine whose process is gone, its lock unexpired', () => {
    /** The interrupted transfer's lock as its dead process left it: this machine, a pid that has exited, 10 minutes to go. */
    async function heldByADeadProcess(): Promise<{ runId: string; pid: number }> {
      await jobsInFlightForTheFirstTarget();
      const runId = (await redis.source().keys('sidekiq-migrate:*:inflight:queue:a'))[0]!.split(':')[1]!;
      const pid = spawnSync(process.execPath, ['-e', '']).pid!;
      const holder = { runId, operation: 'transfer', host: hostname(), pid, startedAt: '2026-12-06T10:00:00.000Z', plannedAt: 1796556000000, expiresAt: Date.now() + 600_000 };
      await redis.source().set('sidekiq-migrate:lock', JSON.stringify(holder));
      return { runId, pid };
    }
    const gone = (runId: string, pid: number) => String.raw`Run ${runId} \(transfer\) was interrupted: its process on this machine \(pid ${pid}\) is gone, and its run lock on redis://127\.0\.0\.1:\d+ holds for \d+ s more\. `;

    it('a move to another target: refused, naming that run and how to finish it', async () => {
      const { runId, pid } = await heldByADeadProcess();

      const said = await refusedTouchingNothing(1, ['move', '--from', redis.urls().source, '--to', other.url()]);

      expect(said).toMatch(new RegExp(gone(runId, pid)));
      expect(said).toContain(`(it resumes ${runId})`);
      expect(said).toContain('Nothing was touched.');
      expect(await other.client().dbsize()).toBe(0);
    });

    it('a re-route (run --rename): refused, naming that run and how to finish it', async () => {
      const { runId, pid } = await heldByADeadProcess();

      const said = await refusedTouchingNothing(1, ['run', '--redis', redis.urls().source, '--rename', 'a=b']);

      expect(said).toMatch(new RegExp(gone(runId, pid) + String.raw`Finish it by running its command again \(it resumes ${runId}\), then run this command again; or run this command again once that lock has expired\. Nothing was touched\.`));
    });

    it('a rollback: refused, naming that run', async () => {
      const { runId, pid } = await heldByADeadProcess();

      const said = await refusedTouchingNothing(1, ['rollback', 'reroute-20261206-100000-beef', '--redis', redis.urls().source]);

      expect(said).toMatch(new RegExp(gone(runId, pid)));
    });
  });

  it('a queue key that holds another type: refused, the target not named', async () => {
    const source = redis.source();
    await source.sadd('queues', 'a', 'odd');
    await source.lpush('queue:a', sidekiqPayload({ className: 'A', queue: 'a' }));
    await source.set('queue:odd', 'not a list');

    const said = await refusedTouchingNothing(2, ['move', '--from', redis.urls().source, '--to', other.url()]);

    expect(said).toContain(`source ${redis.urls().source}: queue:odd holds a string, not a list: no queue Sidekiq can use. Check the key prefix (--namespace), or move that key out of the way, then run again; the run stopped before its first page.`);
    expect(await other.client().dbsize()).toBe(0);
  });

  it('a queue whose name is longer than 512 bytes: refused, the target not named', async () => {
    const source = redis.source();
    const long = 'q'.repeat(513);
    await source.sadd('queues', 'a', long);
    await source.lpush('queue:a', sidekiqPayload({ className: 'A', queue: 'a' }));
    await source.lpush(`queue:${long}`, sidekiqPayload({ className: 'A', queue: long }));

    const said = await refusedTouchingNothing(2, ['move', '--from', redis.urls().source, '--to', other.url()]);

    expect(said).toContain(
      `1 queue(s) have a name longer than 512 bytes, such as queue:${'q'.repeat(40)}… (513 bytes): a run carries queue names through the state machine's states (256 KiB each), so it takes names of at most 512 bytes. Rename that key, or delete it if it is no Sidekiq queue; the run stopped before its first page.`,
    );
    expect(await other.client().dbsize()).toBe(0);
  });

  it('a re-route (run --rename) with a queue key of another type among the queues it drains: refused, not even a lock taken', async () => {
    const source = redis.source();
    await source.sadd('queues', 'a', 'odd');
    await source.lpush('queue:a', sidekiqPayload({ className: 'A', queue: 'a' }));
    await source.set('queue:odd', 'not a list');

    const said = await refusedTouchingNothing(2, ['run', '--redis', redis.urls().source, '--rename', 'odd=b']);

    expect(said).toContain(`source ${redis.urls().source}: queue:odd holds a string, not a list: no queue Sidekiq can use. Check the key prefix (--namespace), or move that key out of the way, then run again; the run stopped before its first page.`);
  });

  it('a rollback of a run that recorded no moves: refused, not even a lock taken', async () => {
    await redis.source().lpush('queue:a', sidekiqPayload({ className: 'A', queue: 'a' }));

    const said = await refusedTouchingNothing(2, ['rollback', 'never-ran', '--redis', redis.urls().source]);

    expect(said).toMatch(/Run never-ran recorded no moves on redis:\/\/127\.0\.0\.1:\d+: it moved nothing, was a dry run, is older than 30 days, or was a transfer\./);
  });
});
