// A standalone target (no replicas, so no WAIT between the copy and the acknowledge) restarted
// empty, without persistence, after a slice was copied there and before the source acknowledged
// it: the source deleted the slice from its in-flight key while the only copy had gone with the
// restart. Those jobs were nowhere (the run then failed saying the target lost its data, but the
// slice was lost by the run itself). Now the acknowledge waits for the target to show, after the
// copy, that the batch's copy is still recorded there (the run's ledger); the slice is written
// again when it is not, and the run says the target lost the copy, never "Complete".
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { renderSummary } from '../../cli/workflow/render-summary.js';
import { FatalError } from '../../core/errors/sidekiq-migrate-error.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { runWorkflowLocally } from '../../infra/local/run-workflow-locally.js';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { sourceAndRestartableTarget } from '../support/restartable-target.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { waitUntil } from '../support/wait-until.js';


const servers = sourceAndRestartableTarget();
const { client, restartTargetEmpty } = servers;

/** Every job on the source (its keys, and the run's in-flight keys) and on the target. */
async function everywhere(src: Redis, tgt: Redis): Promise<string[]> {
  const jobs = [...(await jobsIn(src)), ...(await jobsIn(tgt))];
  let cursor = '0';
  do {
    const [next, keys] = await src.scan(cursor, 'MATCH', 'sidekiq-migrate:*:inflight:*', 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const from = key.replace(/^sidekiq-migrate:[^:]+:inflight:/, '');
      if ((await src.type(key)) === 'list') for (const p of await src.lrangeBuffer(key, 0, -1)) jobs.push(jobEntry(from, p));
      else {
        const flat = await src.zrangeBuffer(key, 0, '-1', 'WITHSCORES');
        for (let i = 0; i < flat.length; i += 2) jobs.push(jobEntry(from, flat[i]!, flat[i + 1]!.toString()));
      }
    }
  } while (cursor !== '0');
  return jobs.sort();
}

describe('a standalone target restarted empty between a slice\'s copy and its acknowledge', () => {
  const cases = [
    {
      kind: 'queue',
      script: 'copyJobsToLists-n4',
      seed: async (src: Redis) => {
        const payloads = Array.from({ length: 30 }, (_, i) => sidekiqPayload({ className: i % 3 === 2 ? 'B' : 'A', queue: 'q', args: `[${i}]` }));
        for (const p of payloads) await src.lpush('queue:q', p);
        await src.sadd('queues', 'q');
        return payloads.map((p) => jobEntry('queue:q', p));
      },
    },
    {
      kind: 'set',
      script: 'copyEntriesToSet-6',
      seed: async (src: Redis) => {
        const payloads = Array.from({ length: 30 }, (_, i) => sidekiqPayload({ className: i % 3 === 2 ? 'B' : 'A', queue: 'q', args: `[${i}]` }));
        for (const [i, p] of payloads.entries()) await src.zadd('schedule', String(1_900_000_000 + i), p);
        return payloads.map((p, i) => jobEntry('schedule', p, String(1_900_000_000 + i)));
      },
    },
  ] as const;
  for (const c of cases.flatMap((k) => [{ ...k, classes: undefined }, { ...k, classes: ['A'] }])) {
    it(`${c.kind}${c.classes ? ' (class-selective)' : ''}: every job once, on the source or on the target; the slice is written again, and the run says the target lost it, never "Complete"`, { timeout: 60_000 }, async () => {
      const src = client(servers.source.url);
      const seeded = await c.seed(src);
      const provider = servers.restartAfterCopy(c.script);

      const executions = await runWorkflowLocally({ runId: `restart-${c.kind}`, mode: 'transfer', target: 'target', pageSize: 10, ...(c.classes ? { classes: c.classes } : {}) }, localTaskHandlers(provider), { retryIntervalMs: 0 });

      expect(provider.restarts()).toBe(1);
      const tgt = client(servers.target.url);
      // Nothing lost, nothing twice: the exact multiset, across the source (in flight included) and the target.
      expect(await everywhere(src, tgt)).toEqual([...seeded].sort());
      const summary = executions.at(-1)!.output as RunSummary;
      const words = renderSummary(summary, 'redis://source', { width: 400 });
      expect(words).not.toContain('Complete');
      // The first slice's jobs (10; fewer when selective: those of class A among the first 10 looked at).
      const said = /lost the copy of (\d+) job\(s\) during run restart-\S+ after they were written there and before the source acknowledged them .*none lost/.exec(words);
      expect(said, words).not.toBeNull();
      const recopied = Number(said![1]);
      if (c.classes) expect(recopied).toBeGreaterThan(0);
      else expect(recopied).toBe(10);
      // The restart came before anything was acknowledged: nothing went with it, and the words say
      // so, in one line (the target id gone with the rest, named there), never that jobs are gone.
      expect(words).toMatch(
        new RegExp(
          `\\nFAILED execution restart-${c.kind}: TargetLostDataError: The target redis://127\\.0\\.0\\.1:\\d+ lost the copy of ${recopied} job\\(s\\) during run restart-${c.kind} after they were written there and before the source acknowledged them ` +
            `\\(it restarted without persistence, was flushed, or failed over to a replica that had not received them; its target id \\S+ is gone\\): they were still in flight on the source and were written there again, none lost\\. ` +
            `Nothing this run had written there was acknowledged on the source before that loss: no job went with it\\.\\n`,
        ),
      );
      expect(words.match(/TargetLostDataError/g)).toHaveLength(1);
      expect(words).not.toMatch(/are gone|may be gone|acknowledged before the loss\)/);
      // The item's next page found the id gone: it says what went, if any, without saying jobs went.
      expect(words).toMatch(
        new RegExp(
          `\\nFAILED ${c.kind} ${c.kind === 'queue' ? 'q' : 'schedule'}: FatalError: The target redis://127\\.0\\.0\\.1:\\d+ lost its data \\(its target id \\S+ is gone: restarted empty, flushed or failed over\\); ` +
            `any job this run had written there and acknowledged before the loss went with it\\. This step wrote nothing\\.\\n`,
        ),
      );
      // The slice copied before the restart is on the target: written again, not left in flight.
      expect((await jobsIn(tgt)).length).toBeGreaterThanOrEqual(recopied);
      if (c.classes) {
        // The other class stays where it was, every job of it; only the selected class is on the target.
        const classB = Buffer.from('"class":"B"').toString('hex');
        const onSource = await jobsIn(src);
        expect(seeded.filter((e) => e.includes(classB)).every((e) => onSource.includes(e))).toBe(true);
        expect((await jobsIn(tgt)).some((e) => e.includes(classB))).toBe(false);
      }
    });
  }

  it('after a slice of the same queue was acknowledged: that slice may be gone with the data, and the words name it and its count; the lost copy is written again', { timeout: 60_000 }, async () => {
    const src = client(servers.source.url);
    const payloads = Array.from({ length: 30 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'q', args: `[${i}]` }));
    for (const p of payloads) await src.lpush('queue:q', p);
    await src.sadd('queues', 'q');
    const seeded = payloads.map((p) => jobEntry('queue:q', p)).sort();
    // The first slice is written and acknowledged; the target restarts right after the second's copy.
    const provider = servers.restartAfterCopy('copyJobsToLists-n4', { at: 2 });

    const executions = await runWorkflowLocally({ runId: 'restart-second', mode: 'transfer', target: 'target', pageSize: 10 }, localTaskHandlers(provider), { retryIntervalMs: 0 });

    expect(provider.restarts()).toBe(1);
    const tgt = client(servers.target.url);
    // The first slice went with the target's data (the user's server lost it: no read can close
    // that); the second is on the target, written again; the rest on the source. Nothing twice.
    const now = await everywhere(src, tgt);
    expect(now).toHaveLength(20);
    expect(now.every((e) => seeded.includes(e))).toBe(true);
    expect(new Set(now).size).toBe(20);
    expect(await jobsIn(tgt)).toHaveLength(10);
    const words = renderSummary(executions.at(-1)!.output as RunSummary, 'redis://source', { width: 400 });
    expect(words).not.toContain('Complete');
    expect(words).toMatch(
      /\nFAILED execution restart-second: TargetLostDataError: The target redis:\/\/127\.0\.0\.1:\d+ lost the copy of 10 job\(s\) during run restart-second after they were written there and before the source acknowledged them \(it restarted without persistence, was flushed, or failed over to a replica that had not received them; its target id \S+ is gone\): they were still in flight on the source and were written there again, none lost\. Jobs this run had written there and acknowledged on the source before that loss may be gone with it: queue:q 10 \(acknowledged before the loss\)\. Restore it from a backup if there is one\.\n/,
    );
    expect(words.match(/TargetLostDataError/g)).toHaveLength(1);
    expect(words).not.toContain('no job went with it');
  });

  it('after another set was written: its jobs may be gone, said as what the run cannot tell (before or after the loss); the queue\'s own none', { timeout: 60_000 }, async () => {
    const src = client(servers.source.url);
    const tgt = client(servers.target.url);
    const payloads = Array.from({ length: 30 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'q', args: `[${i}]` }));
    for (const p of payloads) await src.lpush('queue:q', p);
    await src.sadd('queues', 'q');
    const scheduled = Array.from({ length: 5 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'q', args: `["s${i}"]` }));
    for (const [i, p] of scheduled.entries()) await src.zadd('schedule', String(1_900_000_000 + i), p);
    // The queue's first copy: the target restarts once the schedule's 5 entries are written there.
    const provider = servers.restartAfterCopy('copyJobsToLists-n4', {
      after: async () => {
        // Acknowledged, not only claimed: an empty schedule on the source may still be in flight there,
        // and then the copy check writes it again after the restart (the 5 survive; not this case).
        await waitUntil(
          'the schedule written to the target and acknowledged',
          async () => (await tgt.zcard('schedule')) === 5 && (await src.zcard('schedule')) === 0 && (await src.keys('sidekiq-migrate:*:inflight:schedule')).length === 0,
          { intervalMs: 20 },
        );
        await restartTargetEmpty();
      },
    });

    const executions = await runWorkflowLocally({ runId: 'restart-other', mode: 'transfer', target: 'target', pageSize: 10 }, localTaskHandlers(provider), { retryIntervalMs: 0 });

    expect(provider.restarts()).toBe(1);
    // The schedule's 5 went with the data; the queue's first slice is on the target, written again.
    const now = await everywhere(src, tgt);
    expect(now).toEqual(payloads.map((p) => jobEntry('queue:q', p)).sort());
    const words = renderSummary(executions.at(-1)!.output as RunSummary, 'redis://source', { width: 400 });
    expect(words).not.toContain('Complete');
    expect(words).toMatch(
      /\nFAILED execution restart-other: TargetLostDataError: The target redis:\/\/127\.0\.0\.1:\d+ lost the copy of 10 job\(s\) during run restart-other after they were written there and before the source acknowledged them \([^)]*; its target id \S+ is gone\): they were still in flight on the source and were written there again, none lost\. Jobs this run had written there and acknowledged on the source before that loss may be gone with it: schedule up to 5 \(written during the run; whether before the loss, the run cannot tell\)\. Restore it from a backup if there is one\.\n/,
    );
    expect(words).not.toContain('queue:q 10 (acknowledged');
  });

  it('the resume of a slice an interrupted run left in flight (the next run\'s plan writes it): the same', { timeout: 60_000 }, async () => {
    const src = client(servers.source.url);
    const payloads = Array.from({ length: 30 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'q', args: `[${i}]` }));
    for (const p of payloads) await src.lpush('queue:q', p);
    await src.sadd('queues', 'q');
    const seeded = payloads.map((p) => jobEntry('queue:q', p)).sort();
    // A first run whose page task fails, for good, right after its first slice's copy: that slice
    // is left in flight on the source (written, not acknowledged).
    const first = servers.restartAfterCopy('copyJobsToLists-n4', { after: () => Promise.reject(new FatalError('the page task died after its copy')) });
    await runWorkflowLocally({ runId: 'restart-interrupted', mode: 'transfer', target: 'target', pageSize: 10 }, localTaskHandlers(first), { retryIntervalMs: 0 });
    expect(await src.llen('sidekiq-migrate:restart-interrupted:inflight:queue:q')).toBe(10);

    // The next run's plan writes it again (its ledger has it: duplicates), and the target restarts
    // empty right after that copy, before the acknowledge.
    const provider = servers.restartAfterCopy('copyJobsToLists-n4');
    const executions = await runWorkflowLocally({ runId: 'restart-resume', mode: 'transfer', target: 'target', pageSize: 10 }, localTaskHandlers(provider), { retryIntervalMs: 0 });

    expect(provider.restarts()).toBe(1);
    const tgt = client(servers.target.url);
    expect(await everywhere(src, tgt)).toEqual(seeded);
    // The resumed slice is on the target, written again; nothing of it left in flight.
    expect(await src.exists('sidekiq-migrate:restart-interrupted:inflight:queue:q')).toBe(0);
    expect((await jobsIn(tgt)).length).toBeGreaterThanOrEqual(10);
    // The restart took the target's lock and id with it, and the plan fails on that: said as a
    // target that lost its data, with the slice written again; not as a lock that was lost.
    const error = executions.at(-1)!.error as { name: string; message: string } | undefined;
    expect(error?.message).toMatch(
      /^The target redis:\/\/127\.0\.0\.1:\d+ lost its data while run restart-resume planned \(its target id \S+ is gone: restarted empty, flushed or failed over\); any job written there before and acknowledged on the source went with it\. The plan had written 10 job\(s\) in flight there again, the target having lost their copy before the source acknowledged them: none of those is lost\. To move the rest to it as it is now, run the same command again\.$/,
    );
    expect(error?.message).not.toContain('nothing is lost');
  });

  it('after the acknowledge: a target that kept its id but lost what the run wrote (an older snapshot reloaded) is not "Complete"', { timeout: 60_000 }, async () => {
    const src = client(servers.source.url);
    const payloads = Array.from({ length: 30 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'q', args: `[${i}]` }));
    for (const p of payloads) await src.lpush('queue:q', p);
    await src.sadd('queues', 'q');
    const tgt = client(servers.target.url);
    const provider = servers.connections();
    const handlers = localTaskHandlers(provider);
    // Once every job is on the target, before the run's last look: the target goes back to how it
    // was when the run planned (its id and the run's lock kept, nothing the run wrote since).
    let reloaded = 0;
    const summarize: typeof handlers.summarize = async (input, context) => {
      if (reloaded === 0 && (await tgt.llen('queue:q')) === 30) {
        reloaded++;
        const [id, lock, ttl] = await Promise.all([tgt.get('sidekiq-migrate:target-id'), tgt.get('sidekiq-migrate:lock'), tgt.pttl('sidekiq-migrate:lock')]);
        await tgt.flushall();
        await tgt.set('sidekiq-migrate:target-id', id!);
        if (lock !== null) await tgt.set('sidekiq-migrate:lock', lock, 'PX', Math.max(ttl, 60_000));
      }
      return handlers.summarize(input, context);
    };

    const executions = await runWorkflowLocally({ runId: 'restart-after', mode: 'transfer', target: 'target', pageSize: 10 }, { ...handlers, summarize }, { retryIntervalMs: 0 });

    expect(reloaded).toBe(1);
    // The user's server lost the 30 jobs after the run wrote and acknowledged them: none is anywhere.
    expect(await everywhere(src, tgt)).toEqual([]);
    const words = renderSummary(executions.at(-1)!.output as RunSummary, 'redis://source', { width: 400 });
    expect(words).not.toContain('Complete');
    expect(words).toMatch(
      /FAILED execution restart-after: TargetLostDataError: The target redis:\/\/127\.0\.0\.1:\d+ no longer holds run restart-after's record of what it wrote there from queue:q: it lost data after the run wrote there \(reloaded an older snapshot, was flushed in part, or failed over to a replica that had not received it\), and the jobs written there may be gone with it\./,
    );
  });
});
