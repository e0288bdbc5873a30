// A `move` that finishes the jobs another (dead) run left in flight, SIGKILLed between that
// leftover's acknowledge and the end of its bookkeeping: the dead run's count of its queue's
// originals (`<dead>:originals:queue:a`, on the source) and its ledger (`<dead>:ledger:queue:a`,
// on the target) each have their own round trip after the acknowledge (resume-inflight.ts). Killed
// there, the in-flight key was gone, so no later run found that leftover again: both keys stayed
// forever without an expiry, after a resumed move that said Complete. The dead run: a `move`
// killed after its first claim (before its copy), its run lock then expired (as after 20 minutes),
// so the next `move` is another run, which finishes the dead run's jobs first.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cliBin, spawnCli as cli } from '../support/cli-child.js';
import { jobEntry, jobsIn, keysUnder } from '../support/exact-jobs.js';
import { repoPath } from '../support/paths.js';
import { privateRedis, privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
/** Another new Redis, for a run out of the same source to another target. */
const other = privateRedis();

/** The CLI from its sources, SIGKILLed before the first command `command` whose arguments match each of `args` (kill-at-command.mjs). */
function moveKilledAt(command: string, args: readonly string[], nth: number, ...cliArgs: string[]): Promise<{ signal: NodeJS.Signals | null; code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', repoPath('test/support/kill-at-command.mjs'), cliBin, ...cliArgs], {
      env: { ...process.env, SIDEKIQ_MIGRATE_FROM_SOURCE: '1', NO_COLOR: '1', KILL_AT_COMMAND: command, KILL_AT_ARGS: args.join(' '), KILL_AT_NTH: String(nth) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

/** The keys kept without an expiry: the target's id, its index of ledgers (core/transfer/ledger-index.ts) and the mark of its index of in-flight keys (core/transfer/inflight-index.ts; the source's is gone with its in-flight keys). */
const KEPT = new Set(['sidekiq-migrate:target-id', 'sidekiq-migrate:ledgers', 'sidekiq-migrate:inflight-keys']);

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('move killed while it finishes the jobs a dead run left in flight, then run again', { timeout: 300_000 }, () => {
  it.each([
    ['before deleting the dead run\'s count of the queue\'s originals', '^del$', (dead: string) => [`^sidekiq-migrate:${escape(dead)}:originals:queue:a$`]],
    ['before the first step of retiring the dead run\'s ledger', '^evalsha$', (dead: string) => [`^sidekiq-migrate:${escape(dead)}:ledger:queue:a$`, '^look$']],
  ])('%s: every job once on the target, Complete, drained, and no key of either run left without an expiry', async (_, command, at) => {
    const [source, target] = [redis.source(), redis.target()];
    const { source: from, target: to } = redis.urls();
    const queued = Array.from({ length: 7 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'a', args: `[${i},1.0,12345678901234567890]` }));
    for (const p of queued) await source.lpush('queue:a', p);
    await source.sadd('queues', 'a');
    const args = ['move', '--from', from, '--to', to, '--page-size', '2'];

    // The dead run: killed before its first copy, its first claim in flight on the source.
    const first = await moveKilledAt('^evalsha$', ['^sidekiq-migrate:transfer-[\\w-]+:ledger:queue:a$'], 1, ...args);
    expect(first.signal, first.stderr).toBe('SIGKILL');
    const dead = /"runId":"([\w-]+)"/.exec((await source.get('sidekiq-migrate:lock'))!)![1]!;
    expect(await source.llen(`sidekiq-migrate:${dead}:inflight:queue:a`)).toBe(2);
    // Its run lock expires (20 minutes after its last page, an instant in the value).
    for (const side of [source, target]) {
      const lock = JSON.parse((await side.get('sidekiq-migrate:lock'))!) as Record<string, unknown>;
      await side.set('sidekiq-migrate:lock', JSON.stringify({ ...lock, expiresAt: Date.now() - 1000 }));
    }

    // Another run finishes the dead run's jobs first, and is killed at the instant.
    const second = await moveKilledAt(command, at(dead), 1, ...args);
    expect(second.signal, second.stderr).toBe('SIGKILL');
    expect(second.stderr).toContain('kill-at-command: SIGKILL before');
    const run = /"runId":"([\w-]+)"/.exec((await source.get('sidekiq-migrate:lock'))!)![1]!;
    expect(run).not.toBe(dead);

    const again = await cli(...args);

    expect(again.stderr).toContain(`Resuming run ${run}, whose process on this machine is gone.`);
    expect(again.stdout.trimEnd().split('\n').at(-1)).toBe('Complete: everything that could be moved was moved.');
    expect(again.code).toBe(0);
    expect(await jobsIn(source)).toEqual([]);
    expect(await jobsIn(target)).toEqual(queued.map((p) => jobEntry('queue:a', p)).sort());
    // Nothing of either run in flight or counting a pass; every key of theirs expires (the target's id excepted).
    for (const side of [source, target]) {
      const left = await keysUnder(side, 'sidekiq-migrate:');
      expect(left.filter((k) => /:(inflight|batch|originals|acknowledged|seal):/.test(k))).toEqual([]);
      for (const key of left.filter((k) => !KEPT.has(k))) expect(await side.ttl(key), key).toBeGreaterThan(0);
    }
    // The target's index of ledgers without a TTL names none: only its mark that a walk found them all.
    expect(await target.smembers('sidekiq-migrate:ledgers')).toEqual(['walked']);
    const drain = await cli('drain-check', '--redis', from, '--json');
    expect(drain.code).toBe(0);
    expect(JSON.parse(drain.stdout)).toMatchObject({ remaining: 0, inflight: [], quarantine: [], verdict: { state: 'drained', reasons: [] } });
  });

  it('a dead run killed at the end of a pass (nothing in flight), never resumed: the next run after its lock expired leaves none of its keys without an expiry', async () => {
    const [source, target] = [redis.source(), redis.target()];
    const { source: from, target: to } = redis.urls();
    const queued = Array.from({ length: 7 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'a', args: `[${i}]` }));
    for (const p of queued) await source.lpush('queue:a', p);
    await source.sadd('queues', 'a');
    const args = ['move', '--from', from, '--to', to, '--page-size', '2'];

    // Killed before the DEL that ends its pass over queue:a (every batch written and acknowledged, nothing in flight), its pass's count left.
    const first = await moveKilledAt('^del$', ['^sidekiq-migrate:transfer-[\\w-]+:originals:queue:a$'], 1, ...args);
    expect(first.signal, first.stderr).toBe('SIGKILL');
    const dead = /"runId":"([\w-]+)"/.exec((await source.get('sidekiq-migrate:lock'))!)![1]!;
    expect(await source.exists(`sidekiq-migrate:${dead}:inflight:queue:a`)).toBe(0);
    expect(await target.llen('queue:a')).toBe(7);
    expect(await source.ttl(`sidekiq-migrate:${dead}:originals:queue:a`)).toBe(-1);
    for (const side of [source, target]) {
      const lock = JSON.parse((await side.get('sidekiq-migrate:lock'))!) as Record<string, unknown>;
      await side.set('sidekiq-migrate:lock', JSON.stringify({ ...lock, expiresAt: Date.now() - 1000 }));
    }

    const again = await cli(...args);

    expect(again.stdout.trimEnd().split('\n').at(-1)).toMatch(/^Complete: /);
    expect(again.code).toBe(0);
    expect(await jobsIn(source)).toEqual([]);
    expect(await jobsIn(target)).toEqual(queued.map((p) => jobEntry('queue:a', p)).sort());
    for (const side of [source, target]) {
      const left = await keysUnder(side, 'sidekiq-migrate:');
      expect(left.filter((k) => /:(inflight|batch|originals|acknowledged|seal):/.test(k))).toEqual([]);
      for (const key of left.filter((k) => !KEPT.has(k))) expect(await side.ttl(key), key).toBeGreaterThan(0);
    }
    // The target's index of ledgers without a TTL names none: only its mark that a walk found them all.
    expect(await target.smembers('sidekiq-migrate:ledgers')).toEqual(['walked']);
  });
});

describe('a dead `move --classes` run that began a pass on a queue but wrote no batch there, passed by once its lock expired', { timeout: 300_000 }, () => {
  it("the next run deletes the dead run's count of that queue (no ledger names it): the selected jobs once on the target, the others in place, Complete, drained, no key without an expiry", async () => {
    const [source, target] = [redis.source(), redis.target()];
    const { source: from, target: to } = redis.urls();
    // Oldest first: four A jobs, then three B jobs on top. A front pass's first window (the newest
    // two) holds only B jobs: its claim takes nothing, and keeps the pass's start on the source.
    const selected = Array.from({ length: 4 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'a', args: `[${i}]` }));
    const others = Array.from({ length: 3 }, (_, i) => sidekiqPayload({ className: 'B', queue: 'a', args: `[${i}]` }));
    for (const p of [...selected, ...others]) await source.lpush('queue:a', p);
    await source.sadd('queues', 'a');
    const args = ['move', '--from', from, '--to', to, '--page-size', '2', '--classes', 'A'];

    // Killed as its second slice reads the pass's kept start (its first slice read it twice: in the
    // MULTI of its start, with its window): the first slice's claim took nothing and wrote the
    // pass's count; no batch, no ledger.
    const first = await moveKilledAt('^get$', ['^sidekiq-migrate:transfer-[\\w-]+:originals:queue:a$'], 3, ...args);
    expect(first.signal, first.stderr).toBe('SIGKILL');
    const dead = /"runId":"([\w-]+)"/.exec((await source.get('sidekiq-migrate:lock'))!)![1]!;
    expect((await keysUnder(source, `sidekiq-migrate:${dead}:`)).filter((k) => /:(inflight|batch|originals|acknowledged|seal):/.test(k))).toEqual([`sidekiq-migrate:${dead}:originals:queue:a`]);
    expect(await source.ttl(`sidekiq-migrate:${dead}:originals:queue:a`)).toBe(-1);
    expect(await keysUnder(target, `sidekiq-migrate:${dead}:`)).toEqual([]);
    expect(await source.llen('queue:a')).toBe(7);
    // Its run lock expires (20 minutes after its last page, an instant in the value).
    for (const side of [source, target]) {
      const lock = JSON.parse((await side.get('sidekiq-migrate:lock'))!) as Record<string, unknown>;
      await side.set('sidekiq-migrate:lock', JSON.stringify({ ...lock, expiresAt: Date.now() - 1000 }));
    }

    const again = await cli(...args);

    expect(again.stdout.trimEnd().split('\n').at(-1), again.stdout + again.stderr).toBe('Complete: everything that could be moved was moved.');
    expect(again.code).toBe(0);
    expect(await jobsIn(source)).toEqual(others.map((p) => jobEntry('queue:a', p)).sort());
    expect(await jobsIn(target)).toEqual(selected.map((p) => jobEntry('queue:a', p)).sort());
    for (const side of [source, target]) {
      const left = await keysUnder(side, 'sidekiq-migrate:');
      expect(left.filter((k) => /:(inflight|batch|originals|acknowledged|seal):/.test(k))).toEqual([]);
      for (const key of left.filter((k) => !KEPT.has(k))) expect(await side.ttl(key), key).toBeGreaterThan(0);
    }
    expect(await target.smembers('sidekiq-migrate:ledgers')).toEqual(['walked']);
    const drain = await cli('drain-check', '--redis', from, '--json');
    expect(JSON.parse(drain.stdout)).toMatchObject({ inflight: [], quarantine: [] });
  });
});

// A dead run's pass count whose `started-with` record names ANOTHER target is kept by a run to a
// third Redis (forgetOtherRunsPasses, other-runs-passes.ts): that run cannot settle the dead run's
// ledger on a Redis it does not reach (retire-ledger.ts), and the count is how the next plan to the
// dead run's target finds it; a run that holds the source's lock only knows that no run is live
// here, not that the dead run's ledger has its expiry. Decided and kept (audit-inflight): the next
// run to the dead run's target deletes it (the test above); the runbook's leftover table says so.
describe('a dead `move --classes` run whose count names its target, passed by with a move of the same source to another Redis', { timeout: 300_000 }, () => {
  it("the other move keeps the dead run's count (Complete, its own jobs once); the next move to the dead run's target deletes it", async () => {
    const [source, target, third] = [redis.source(), redis.target(), other.client()];
    const { source: from, target: to } = redis.urls();
    const selected = Array.from({ length: 4 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'a', args: `[${i}]` }));
    const others = Array.from({ length: 3 }, (_, i) => sidekiqPayload({ className: 'B', queue: 'a', args: `[${i}]` }));
    for (const p of [...selected, ...others]) await source.lpush('queue:a', p);
    await source.sadd('queues', 'a');
    const args = ['move', '--from', from, '--to', to, '--page-size', '2', '--classes', 'A'];
    const first = await moveKilledAt('^get$', ['^sidekiq-migrate:transfer-[\\w-]+:originals:queue:a$'], 3, ...args);
    expect(first.signal, first.stderr).toBe('SIGKILL');
    const dead = /"runId":"([\w-]+)"/.exec((await source.get('sidekiq-migrate:lock'))!)![1]!;
    const count = `sidekiq-migrate:${dead}:originals:queue:a`;
    expect(await source.ttl(count)).toBe(-1);
    for (const side of [source, target]) {
      const lock = JSON.parse((await side.get('sidekiq-migrate:lock'))!) as Record<string, unknown>;
      await side.set('sidekiq-migrate:lock', JSON.stringify({ ...lock, expiresAt: Date.now() - 1000 }));
    }

    // Another target: the B jobs go there; the dead run's count (its record names `to`) stays.
    const elsewhere = await cli('move', '--from', from, '--to', other.url(), '--page-size', '2', '--classes', 'B');
    expect(elsewhere.stdout.trimEnd().split('\n').at(-1), elsewhere.stdout + elsewhere.stderr).toBe('Complete: everything that could be moved was moved.');
    expect(elsewhere.code).toBe(0);
    expect(await jobsIn(third)).toEqual(others.map((p) => jobEntry('queue:a', p)).sort());
    expect(await source.ttl(count)).toBe(-1);

    // The dead run's target: its count goes.
    const again = await cli(...args);
    expect(again.stdout.trimEnd().split('\n').at(-1), again.stdout + again.stderr).toBe('Complete: everything that could be moved was moved.');
    expect(again.code).toBe(0);
    expect(await jobsIn(target)).toEqual(selected.map((p) => jobEntry('queue:a', p)).sort());
    expect(await jobsIn(source)).toEqual([]);
    expect(await source.exists(count)).toBe(0);
  });
});
