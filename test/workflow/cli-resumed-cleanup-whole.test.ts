// A run killed between a queue's last move and the end of that queue's pass leaves the pass's
// record (`<run>:originals:queue:NAME`, no expiry) and, for a `move`, the queue's ledger on the
// target without its expiry (cli-move-killed-at-pass-end, cli-killed-at-pass-end). The resumed
// run's last summary deleted them from a look over the keyspace bounded by its time: among many
// other keys, a summary out of time (a deployed step among many millions of keys) left them for
// good; and a run resumed after its `started-with` record expired (30 days without a page) was
// taken for a first start, whose summary did not look at all. Both failed here before: the keys
// stayed, no word about them. The resumed plan now finds them in its one walk of the source's
// keyspace, which must reach its end (plan-walk.ts), and forgets them while it holds the lock
// (core/workflow/older-starts.ts): whatever the summary's time, whatever the record's age.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import type { LocalInvocationContext } from '../../infra/local/run-workflow-locally.js';
import { bufferIo } from '../support/buffer-io.js';
import { cliBin } from '../support/cli-child.js';
import { jobEntry, jobsIn, keysUnder, withQueue } from '../support/exact-jobs.js';
import { repoPath } from '../support/paths.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
const dir = mkdtempSync(join(tmpdir(), 'cli-resumed-cleanup-whole-'));
const mappingFile = join(dir, 'mapping.json');
writeFileSync(mappingFile, JSON.stringify({ A: 'new' }));

/** Other keys on each server: the summary's first SCAN page (about 1,000 keys) reaches the run's key about once in 20. */
const OTHER_KEYS = 20_000;

/** The CLI from its sources with a kill hook (`test/support/<hook>.mjs`): its stderr and how it ended. */
function killedBy(hook: string, ...args: string[]): Promise<{ signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', repoPath(`test/support/${hook}.mjs`), cliBin, ...args], {
      env: { ...process.env, SIDEKIQ_MIGRATE_FROM_SOURCE: '1', NO_COLOR: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (_, signal) => resolve({ signal, stderr }));
  });
}

/**
 * The CLI in this process, its summary task given no time for its looks over the keyspace (as a
 * deployed summary among many millions of keys: each look reads its first SCAN page only), or
 * with the time a local task has.
 */
async function cli(summaryOutOfTime: boolean, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = bufferIo();
  const handlersFor = (connections: Parameters<typeof localTaskHandlers>[0]) => {
    const handlers = localTaskHandlers(connections);
    if (!summaryOutOfTime) return handlers;
    // The task keeps its function's time (the first ask: its timer); the summary's looks, which ask after it, get none.
    const outOfTime = (context?: LocalInvocationContext) => {
      if (!context) return context;
      let asked = 0;
      return Object.assign(Object.create(context) as LocalInvocationContext, { getRemainingTimeInMillis: () => (asked++ === 0 ? context.getRemainingTimeInMillis() : 0) });
    };
    return { ...handlers, summarize: (input: unknown, context?: LocalInvocationContext) => handlers.summarize(input, outOfTime(context)) };
  };
  const code = await main(['node', 'sidekiq-migrate', ...args], io, handlersFor);
  return { code, stdout: io.stdout(), stderr: io.stderr() };
}

async function fill(server: Redis): Promise<void> {
  for (let from = 0; from < OTHER_KEYS; from += 10_000) {
    const p = server.pipeline();
    for (let i = from; i < from + 10_000; i++) p.set(`uniquejobs:digest:${i}`, '1');
    await p.exec();
  }
}

/** The run's last words: a summary out of time says what its looks did not reach; in time, Complete. */
const lastLine = (outOfTime: boolean) => (outOfTime ? /^Done, but jobs may have been left behind: quarantine lists and in-flight keys on (the source|this Redis) not all looked at \(cut short after about 1,000 of 20,00\d keys\)/ : /^Complete: everything that could be moved was moved\.$/);

const cases = [
  ['the resumed summary out of time among 20,000 other keys', true, false],
  ["the run's started-with record expired before the resume (30 days without a page)", false, true],
] as const;

describe('move killed at a pass end, resumed: the earlier start\'s pass count and ledger never stay', { timeout: 180_000 }, () => {
  it.each(cases)('%s: every job once, the count deleted, the ledger retired', async (_, outOfTime, expired) => {
    const [source, target] = [redis.source(), redis.target()];
    const { source: from, target: to } = redis.urls();
    await fill(source);
    await fill(target);
    const queued = Array.from({ length: 5 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'a', args: `[${i}]` }));
    for (const p of queued) await source.lpush('queue:a', p);
    await source.sadd('queues', 'a');
    const args = ['move', '--from', from, '--to', to, '--page-size', '2'];

    const killed = await killedBy('kill-at-transfer-pass-end', ...args);

    const run = /SIGKILL before deleting sidekiq-migrate:(transfer-[\w-]+):originals:queue:a\n/.exec(killed.stderr)?.[1];
    expect(run, killed.stderr).toBeDefined();
    expect(killed.signal).toBe('SIGKILL');
    expect(await source.ttl(`sidekiq-migrate:${run}:originals:queue:a`)).toBe(-1);
    // The pass retires its ledger before its count goes (retire-ledger.ts retireBeforePassEnd): the
    // count left is how the next plan finds a ledger left without its TTL (the case below).
    expect(await target.ttl(`sidekiq-migrate:${run}:ledger:queue:a`)).toBeGreaterThan(0);
    if (expired) expect(await source.del(`sidekiq-migrate:${run}:started-with`)).toBe(1);

    const again = await cli(outOfTime, ...args);

    expect(again.stderr).toContain(`Resuming run ${run}, whose process on this machine is gone.`);
    expect(again.code, again.stdout).toBe(0);
    expect(again.stdout.trimEnd().split('\n').at(-1)).toMatch(lastLine(outOfTime));
    expect(await jobsIn(source, '', ['queue:a'])).toEqual([]);
    expect(await jobsIn(target, '', ['queue:a'])).toEqual(queued.map((p) => jobEntry('queue:a', p)).sort());
    expect(await source.exists('sidekiq-migrate:lock')).toBe(0);
    // Nothing of the run is left on the source but its records that expire; its ledgers on the target are retired.
    const left = await keysUnder(source, `sidekiq-migrate:${run}:`);
    expect(left.filter((k) => !/:(finished|started-with)$/.test(k))).toEqual([]);
    for (const key of left) expect(await source.ttl(key), key).toBeGreaterThan(0);
    const ledgers = await keysUnder(target, `sidekiq-migrate:${run}:`);
    expect(ledgers).toContain(`sidekiq-migrate:${run}:ledger:queue:a`);
    for (const key of ledgers) expect(await target.ttl(key), key).toBeGreaterThan(0);
  });
});

describe('run (re-route) killed at a pass end, resumed: the earlier start\'s pass record never stays', { timeout: 180_000 }, () => {
  it.each(cases)('%s: every job once on its new queue, the record deleted', async (_, outOfTime, expired) => {
    const source = redis.source();
    const url = redis.urls().source;
    await fill(source);
    const queued = Array.from({ length: 5 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
    for (const p of queued) await source.lpush('queue:old', p);
    await source.sadd('queues', 'old');
    const args = ['run', '--redis', url, '--mapping', mappingFile, '--page-size', '2'];

    const killed = await killedBy('kill-at-pass-end', ...args);

    const run = /SIGKILL before ending the pass of sidekiq-migrate:(reroute-[\w-]+):originals:queue:old\n/.exec(killed.stderr)?.[1];
    expect(run, killed.stderr).toBeDefined();
    expect(killed.signal).toBe('SIGKILL');
    expect(await source.ttl(`sidekiq-migrate:${run}:originals:queue:old`)).toBe(-1);
    if (expired) expect(await source.del(`sidekiq-migrate:${run}:started-with`)).toBe(1);

    const again = await cli(outOfTime, ...args);

    expect(again.stderr).toContain(`Resuming run ${run}, whose process on this machine is gone.`);
    expect(again.code, again.stdout).toBe(0);
    expect(again.stdout.trimEnd().split('\n').at(-1)).toMatch(lastLine(outOfTime));
    expect(await jobsIn(source, '', ['queue:old', 'queue:new'])).toEqual(queued.map((p) => jobEntry('queue:new', withQueue(p, 'old', 'new'))).sort());
    expect(await source.exists('sidekiq-migrate:lock')).toBe(0);
    const left = (await keysUnder(source, `sidekiq-migrate:${run}:`)).filter((k) => !/:(finished|moves|routing|started-with)$/.test(k));
    expect(left).toEqual([]);
  });
});

/** The CLI from its sources, SIGKILLed before the first command `command` whose arguments match each of `args` (kill-at-command.mjs). */
function killedAt(command: string, args: readonly string[], ...cliArgs: string[]): Promise<{ signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', repoPath('test/support/kill-at-command.mjs'), cliBin, ...cliArgs], {
      env: { ...process.env, SIDEKIQ_MIGRATE_FROM_SOURCE: '1', NO_COLOR: '1', KILL_AT_COMMAND: command, KILL_AT_ARGS: args.join(' '), KILL_AT_NTH: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (_, signal) => resolve({ signal, stderr }));
  });
}

describe('move killed before the first step of retiring a finished queue\'s ledger, resumed with its summary out of time', { timeout: 180_000 }, () => {
  it('among 20,000 other keys: every job once, the ledger retired, no count of the run left', async () => {
    const [source, target] = [redis.source(), redis.target()];
    const { source: from, target: to } = redis.urls();
    await fill(source);
    await fill(target);
    const queued = Array.from({ length: 5 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'a', args: `[${i}]` }));
    for (const p of queued) await source.lpush('queue:a', p);
    await source.sadd('queues', 'a');
    const args = ['move', '--from', from, '--to', to, '--page-size', '2'];

    // Every job of queue:a written and acknowledged; killed before the ledger of queue:a is first
    // looked at for its TTL (retireLedger-2.lua 'look'). Before, its pass had ended already (its
    // count deleted): the ledger stayed with no TTL and nothing on the source named it.
    const killed = await killedAt('^evalsha$', ['^sidekiq-migrate:transfer-[\\w-]+:ledger:queue:a$', '^look$'], ...args);
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    const run = /"runId":"([\w-]+)"/.exec((await source.get('sidekiq-migrate:lock'))!)![1]!;
    expect(await target.llen('queue:a')).toBe(5);
    expect(await source.exists(`sidekiq-migrate:${run}:inflight:queue:a`)).toBe(0);
    expect(await target.ttl(`sidekiq-migrate:${run}:ledger:queue:a`)).toBe(-1);

    const again = await cli(true, ...args);

    expect(again.stderr).toContain(`Resuming run ${run}, whose process on this machine is gone.`);
    expect(again.code, again.stdout).toBe(0);
    expect(again.stdout.trimEnd().split('\n').at(-1)).toMatch(lastLine(true));
    expect(await jobsIn(source, '', ['queue:a'])).toEqual([]);
    expect(await jobsIn(target, '', ['queue:a'])).toEqual(queued.map((p) => jobEntry('queue:a', p)).sort());
    const left = await keysUnder(source, `sidekiq-migrate:${run}:`);
    expect(left.filter((k) => !/:(finished|started-with)$/.test(k))).toEqual([]);
    for (const key of left) expect(await source.ttl(key), key).toBeGreaterThan(0);
    expect(await keysUnder(target, `sidekiq-migrate:${run}:`)).toEqual([`sidekiq-migrate:${run}:ledger:queue:a`]);
    expect(await target.ttl(`sidekiq-migrate:${run}:ledger:queue:a`)).toBeGreaterThan(0);
  });
});
