import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { renderSummary } from '../../cli/workflow/render-summary.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { unhandledDuring } from '../support/unhandled-rejections.js';
import { fakeContext } from './support/lambda-harness.js';
import { lambdaOnOwnServers } from './support/lambda-on-own-servers.js';
import { runToSummary, summarizeInput, viaJson } from './support/run-workflow.js';

// A re-route's summary counts the entries its routing moves added to its sets after their pass
// ended (count-set-entries.ts), several ZRANGEs outstanding at once (issue #18). When the
// connection is lost midway, the reads sent ahead fail while the count still waits on the one
// before them: 3104731a left their failures unhandled (vitest's "Unhandled Rejection: stopped
// before a call", exit 1, in reroute-random-faults; a Lambda's Node prints it, and by default
// exits on it). Now the summarize invocation fails with the failure of the read it was waiting on,
// retryable as any lost connection, nothing else unhandled; its retry, on a sound connection,
// counts the late arrivals exactly.
const REWRITTEN = 3_000;
const LATE = 4;
const lambda = lambdaOnOwnServers({ targetArgs: false });

const entry = (queue: string, i: number) => sidekiqPayload({ className: 'A', queue, args: `[${i}]`, jid: i.toString(16).padStart(24, '0') });

type Send = (command: { name: string; args: unknown[]; reject: (error: Error) => void; promise: Promise<unknown> }, ...rest: unknown[]) => unknown;

/**
 * The container's ZRANGEs of `key` from the `from`-th on fail as ioredis fails a command on a
 * connection it lost, without reaching Redis ("Connection is closed."); those before it come back.
 */
function zrangesFailFrom(client: Redis, key: string, from: number): { sent: () => number; stop: () => void } {
  let n = 0;
  const c = client as unknown as { sendCommand: Send };
  const send = c.sendCommand;
  c.sendCommand = function (this: unknown, command, ...rest) {
    if (command.name.toLowerCase() === 'zrange' && String(command.args[0]) === key && ++n >= from) {
      command.reject(new Error('Connection is closed.'));
      return command.promise;
    }
    return send.call(this, command, ...rest);
  };
  return { sent: () => n, stop: () => (c.sendCommand = send) };
}

describe("the summarize handler of a re-route, its count of late set arrivals losing its connection with reads sent ahead", { timeout: 180_000 }, () => {
  it('fails retryable with the failure of the read it waited on, none unhandled; its retry counts the late arrivals', async () => {
    const { h, source } = lambda;
    await source.rpush('queue:old', entry('old', 0));
    await source.sadd('queues', 'old');
    await source.zadd('schedule', '1895459303.5', entry('old', 1));
    const run = await runToSummary(h, { runId: 'reads-fail-1', mode: 'reroute', sets: ['schedule'], routing: { kind: 'renames', renames: { old: 'new' } } });
    const args: (string | number)[] = [];
    for (let j = 0; j < REWRITTEN; j++) args.push(1_895_460_000 + j, entry('new', 100 + j));
    await source.zadd('schedule', ...args);
    for (let i = 0; i < LATE; i++) await source.zadd('schedule', 1_895_500_000 + i, entry('old', 50_000 + i));
    const before = await source.zrange('schedule', '0', '-1', 'WITHSCORES');

    const { redis } = await h.connections.get('source');
    // The probe and the first page come back; the reads sent ahead with the first page, and all
    // after, fail as they are sent (the count waits on the first page meanwhile).
    const failing = zrangesFailFrom(redis, 'schedule', 3);
    let failure: unknown;
    const unhandled = await unhandledDuring(async () => {
      try {
        failure = await h.summarize(summarizeInput(run), fakeContext()).then(
          () => 'no failure',
          (error: unknown) => error,
        );
      } finally {
        failing.stop();
      }
    });
    expect(failing.sent()).toBeGreaterThanOrEqual(4);
    expect(failure).toMatchObject({ name: 'RetryableError', message: expect.stringContaining('Connection is closed.') });
    expect(unhandled).toEqual([]);

    const summary = viaJson((await h.summarize(summarizeInput(run), fakeContext())) as RunSummary);
    const out = renderSummary(summary, 'source');
    expect(summary.setArrivalsCutShort).toBeUndefined();
    expect(out).toContain(`\n${LATE} job(s) arrived on retired queues during the run (schedule ${LATE}): not moved by this run; run again or see drain-check.\n`);
    expect(out.trimEnd().split('\n').at(-1)).toBe(`Done, but jobs were left behind: ${LATE} arrived on retired queues during the run (see "Needs a look" above).`);
    expect(out).not.toContain('Complete');
    // The count touched nothing.
    expect(await source.zrange('schedule', '0', '-1', 'WITHSCORES')).toEqual(before);
  });
});
