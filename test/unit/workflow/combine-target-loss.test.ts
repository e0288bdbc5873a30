// The executions of a continued run each say what they found of their target's loss, in their own
// words and of their own sets and queues: the id-only line of one and the ledger line of another
// read as two losses, and a ledger line named only its execution's queues. The combined summary
// says it once, weighing every set and queue of the chain.
import { describe, expect, it } from 'vitest';
import { combineSummaries } from '../../../core/workflow/combine-summaries.js';
import type { RunSummary } from '../../../core/workflow/steps/summarize-step.js';
import type { TargetLoss } from '../../../core/workflow/target-loss.js';
import { emptyTransferCounters } from '../../../core/transfer/transfer-counters.js';

const written = (n: number) => ({ ...emptyTransferCounters(), claimed: n, written: n });

function execution(arn: string, queues: Record<string, number>, loss?: { line: string; loss: TargetLoss }): { executionArn: string; summary: RunSummary } {
  const counters = Object.fromEntries(Object.entries(queues).map(([q, n]) => [q, written(n)]));
  return {
    executionArn: arn,
    summary: {
      runId: 'r1',
      mode: 'transfer',
      dryRun: false,
      sets: {},
      queues: counters,
      totals: written(Object.values(queues).reduce((a, b) => a + b, 0)),
      counts: { finished: Object.keys(queues).length, failed: 0, continued: 0 },
      failures: loss ? [{ kind: 'execution', name: 'r1', error: `TargetLostDataError: ${loss.line}` }] : [],
      continuedIn: [],
      complete: loss === undefined,
      ...(loss ? { targetLoss: loss.loss } : {}),
    },
  };
}

const lossLines = (s: RunSummary) => s.failures.filter((f) => f.error.startsWith('TargetLostDataError: ')).map((f) => f.error);

describe('a target loss seen by the executions of a continued run', () => {
  it('the id-only line of one and the ledger line of another: one line, the id\'s (everything the run wrote there before it went)', () => {
    const combined = combineSummaries([
      execution('a', { small: 5 }, { line: 'id line', loss: { target: 'redis://t', id: { planned: 'X', here: null }, recopied: 0, ledgersGone: [] } }),
      execution('b', { big: 30 }, { line: 'ledger line', loss: { target: 'redis://t', recopied: 0, ledgersGone: ['queue:big'] } }),
    ]);
    expect(lossLines(combined)).toEqual([
      'TargetLostDataError: The target redis://t lost its data during run r1: the target id X its plan found there is gone (it restarted without persistence, was flushed, or failed over to a replica that had not received it). The jobs this run had written there and acknowledged on the source are gone from it: restore it from a backup if there is one. This step wrote nothing there. To move the rest to it as it is now, run the same command again: it names the jobs still in flight for the lost data, and how to write them there.',
    ]);
    expect(combined.complete).toBe(false);
  });

  it('a ledger line of the continuation only: it names what the earlier execution wrote there too', () => {
    const combined = combineSummaries([execution('a', { small: 5 }), execution('b', { big: 30 }, { line: 'ledger line', loss: { target: 'redis://t', recopied: 0, ledgersGone: ['queue:big'] } })]);
    const [line, ...more] = lossLines(combined);
    expect(more).toEqual([]);
    expect(line).toContain("no longer holds run r1's record of what it wrote there from queue:big: it lost data after the run wrote there");
    expect(line).toMatch(/ Written there too, by this run, and maybe gone with it \(whether before the loss, the run cannot tell\): queue:small up to 5\.$/);
  });

  it('one execution: its own line, as it said it', () => {
    const combined = combineSummaries([execution('a', { big: 30 }, { line: 'ledger line', loss: { target: 'redis://t', recopied: 0, ledgersGone: ['queue:big'] } })]);
    expect(lossLines(combined)).toEqual(['TargetLostDataError: ledger line']);
  });

  it("the one line takes the place of the first execution's; every other failure is kept, in its order (a page's own TargetLostDataError, another error of the run)", () => {
    const a = execution('a', { small: 5 }, { line: 'id line', loss: { target: 'redis://t', id: { planned: 'X', here: null }, recopied: 0, ledgersGone: [] } });
    const b = execution('b', { big: 30 }, { line: 'ledger line', loss: { target: 'redis://t', recopied: 0, ledgersGone: ['queue:big'] } });
    const pageLoss = { kind: 'queue' as const, name: 'small', error: 'TargetLostDataError: the page saw it' };
    const boom = { kind: 'queue' as const, name: 'other', error: 'Boom' };
    const timeout = { kind: 'execution' as const, name: 'r1', error: 'States.Timeout: summarize' };
    a.summary.failures.unshift(pageLoss);
    a.summary.failures.push(boom);
    b.summary.failures.push(timeout);

    const combined = combineSummaries([a, b]);

    expect(combined.failures).toHaveLength(4);
    expect(combined.failures[0]).toEqual(pageLoss);
    expect(combined.failures[1]).toMatchObject({ kind: 'execution', name: 'r1' });
    expect(combined.failures[1]!.error).toMatch(/^TargetLostDataError: The target redis:\/\/t lost its data during run r1: the target id X/);
    expect(combined.failures.slice(2)).toEqual([boom, timeout]);
  });

  it('the line first when the first execution said it first, last when no execution listed it (a failures list cut at its bound)', () => {
    const lossOf = (line: string) => ({ line, loss: { target: 'redis://t', recopied: 0, ledgersGone: ['queue:big'] } });
    const boom = { kind: 'queue' as const, name: 'other', error: 'Boom' };
    const first = execution('a', { small: 5 }, lossOf('a line'));
    first.summary.failures.push(boom);
    const saidFirst = combineSummaries([first, execution('b', { big: 30 }, lossOf('b line'))]);
    expect(saidFirst.failures.map((f) => f.error.slice(0, 20))).toEqual(['TargetLostDataError:', 'Boom']);

    const unlisted = execution('a', { small: 5 }, lossOf('a line'));
    unlisted.summary.failures.splice(0, 1, boom);
    const next = execution('b', { big: 30 }, lossOf('b line'));
    next.summary.failures.length = 0;
    const saidNowhere = combineSummaries([unlisted, next]);
    expect(saidNowhere.failures.map((f) => f.error.slice(0, 20))).toEqual(['Boom', 'TargetLostDataError:']);
  });
});

