import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { expectExactJobs, jobEntry, withQueue } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// A summary read the source's Sidekiq processes (SMEMBERS `processes`, then each one's heartbeat)
// once per question: the queues jobs went to (unheard, unheardSilent), those jobs and set entries
// were left on (leftUnheard, leftUnheardInSets, leftUnheardSilent, leftInSetsUnheardSilent), the
// workers' private lists: seven censuses in a re-route's summary. A process that went between two
// of them (a killed one's heartbeat expiring) made the lines disagree: the job left on its queue
// counted as heard (the census before it went), the set entries naming the same queue as "nobody
// fetches" (the census after), and the job said neither unheard nor heard only by silent processes.
// The summary now takes one census and asks it everything. The hook below takes the silent process
// away (as its hash expiring does) just before the fourth read of the processes set a summary
// makes (a re-route's, before: the census of leftUnheardInSets, after leftUnheard's): with one
// census there is no such read, and the lines are those of the process there.
const redis = privateRedis();
const keys = new SidekiqKeys('');
const dir = mkdtempSync(join(tmpdir(), 'cli-summary-one-census-'));
const mapping = join(dir, 'mapping.json');
writeFileSync(mapping, JSON.stringify({ A: 'new' }));
const now = () => Date.now() / 1000;
const job = (className: string, queue: string, i: number) => sidekiqPayload({ className, queue, args: `[${i}]`, jid: `${className}${i}`.padStart(24, '0') });
const last = (text: string) => text.trimEnd().split('\n').at(-1);
const SILENT = 'worker-1:4242:0a1b2c3d4e5f';

interface SentCommand {
  readonly name: string;
  readonly args: readonly unknown[];
}

/**
 * Counts the reads of the `processes` set a summary makes (those whose stack names summarize-step),
 * running `between` once before the fourth of them (from that read on, the process is gone).
 */
function watchSummaryCensuses(between: () => Promise<void>): { reads: () => number; restore: () => void } {
  const proto = Redis.prototype as unknown as { sendCommand: (command: SentCommand, ...rest: unknown[]) => Promise<unknown> };
  const send = proto.sendCommand;
  let reads = 0;
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 100;
  proto.sendCommand = function (this: Redis, command: SentCommand, ...rest: unknown[]) {
    const isCensus = command.name === 'smembers' && String(command.args[0]) === keys.processes && /summarize-step\.[jt]s/.test(new Error().stack ?? '');
    if (!isCensus) return send.call(this, command, ...rest);
    reads += 1;
    if (reads !== 4) return send.call(this, command, ...rest);
    return between().then(() => send.call(this, command, ...rest));
  };
  return {
    reads: () => reads,
    restore: () => {
      proto.sendCommand = send;
      Error.stackTraceLimit = limit;
    },
  };
}

describe("a summary's census of the source's Sidekiq processes", { timeout: 180_000 }, () => {
  it('one per summary, dry and for real: a process gone between what were separate reads changes none of its lines', async () => {
    const source = redis.client();
    const a = [0, 1].map((i) => job('A', 'post_receive', i));
    const removed = job('RemovedWorker', 'post_receive', 2);
    const scheduled = job('RemovedWorker', 'post_receive', 3);
    await source.lpush('queue:post_receive', ...a, removed);
    await source.sadd('queues', 'post_receive');
    const dueAt = String(Math.floor(now()) + 3600);
    await source.zadd('schedule', dueAt, scheduled);
    await heartbeat(source, keys, 'web:1:aaaaaaaaaaaa', ['new'], { beatAt: now() });
    const silent = async () => {
      await heartbeat(source, keys, SILENT, ['post_receive'], { beatAt: now() - 40, beating: false });
      await source.pexpire(SILENT, 20_000);
    };
    const gone = async () => {
      await source.srem(keys.processes, SILENT);
      await source.del(SILENT);
    };
    const watched = async (...args: string[]) => {
      await silent();
      const watch = watchSummaryCensuses(gone);
      try {
        return { ...(await runCli('run', '--redis', redis.url(), '--mapping', mapping, ...args)), censuses: watch.reads() };
      } finally {
        watch.restore();
      }
    };

    const dry = await watched('--dry-run');
    const run = await watched();

    const warning = (verb: string) =>
      new RegExp(
        `\\nOnly Sidekiq processes not heard from for (3\\d|4\\d|5\\d) s \\(they may have been killed\\) listen to 1 queue\\(s\\) this run ${verb} jobs in place on \\(post_receive 1\\): none of the 1 other live Sidekiq process\\(es\\) on this Redis listens to them, so if those were killed those jobs never run as things stand\\.`,
      );
    const sets = (verb: string) =>
      new RegExp(
        `\\nOnly Sidekiq processes not heard from for (3\\d|4\\d|5\\d) s \\(they may have been killed\\) listen to 1 queue\\(s\\) that 1 schedule, retry or dead entries this run ${verb} in place name \\(post_receive 1\\): none of the 1 other live Sidekiq process\\(es\\) on this Redis listens to them, so if those were killed those entries land there when due and never run\\.`,
      );
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(warning('would leave'));
    expect(dry.stdout).toMatch(sets('would leave'));
    expect(dry.stdout).not.toContain('nobody fetches');
    expect(last(dry.stdout)).toBe(
      'Dry run, nothing written: a run would move 2 job(s) and leave jobs behind: 2 left in place, 1 of them where only Sidekiq processes that may have been killed listen and 1 in sets for queues only such processes listen to (see "Needs a look" above).',
    );
    expect(dry.censuses).toBe(1);
    expect(run.code).toBe(0);
    expect(run.censuses).toBe(1);
    expect(run.stdout).toMatch(warning('left'));
    expect(run.stdout).toMatch(sets('left'));
    expect(run.stdout).not.toContain('nobody fetches');
    expect(last(run.stdout)).toBe(
      'Done, but jobs were left behind: 2 left in place, 1 of them where only Sidekiq processes that may have been killed listen and 1 in sets for queues only such processes listen to (see "Needs a look" above).',
    );
    await expectExactJobs(source, '', [...a.map((p) => jobEntry('queue:new', withQueue(p, 'post_receive', 'new'))), jobEntry('queue:post_receive', removed), jobEntry('schedule', scheduled, dueAt)]);

    const json = await watched('--json');
    expect(json.code).toBe(0);
    expect(json.censuses).toBe(1);
    const parsed = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(parsed).not.toHaveProperty('leftUnheard');
    expect(parsed).not.toHaveProperty('leftUnheardInSets');
    expect(parsed).toMatchObject({ leftUnheardSilent: { beatingProcesses: 1, total: 1, queues: [{ queue: 'post_receive', jobs: 1 }] }, leftInSetsUnheardSilent: { beatingProcesses: 1, total: 1, queues: [{ queue: 'post_receive', jobs: 1 }] } });
  });
});
