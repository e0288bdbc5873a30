import { describe, expect, it } from 'vitest';
import { combineSummaries } from '../../../core/workflow/combine-summaries.js';
import type { RunSummary } from '../../../core/workflow/steps/summarize-step.js';
import { emptyTransferCounters } from '../../../core/transfer/transfer-counters.js';

// A deployed run continues as new executions; the CLI combines their summaries. The target's dead
// set at Sidekiq's cap (dead-set-cap.ts): a run's is the last execution's look at the target, a dry
// run's forecast the execution's where `dead` ended (it counts what a run would write there).
const summary = (dryRun: boolean, deadSetOverCap?: RunSummary['deadSetOverCap']): RunSummary => ({
  runId: 'r',
  mode: 'transfer',
  dryRun,
  sets: {},
  queues: {},
  totals: emptyTransferCounters(),
  failures: [],
  continuedIn: [],
  complete: true,
  ...(deadSetOverCap ? { deadSetOverCap } : {}),
});
const chain = (...summaries: RunSummary[]) => combineSummaries(summaries.map((s, i) => ({ executionArn: `arn:${i}`, summary: s })));

describe('combineSummaries and the dead set at the cap', () => {
  it("a dry run keeps the forecast of the execution where `dead` ended, though later ones have none", () => {
    // Act
    const combined = chain(summary(true, { entries: 10_010, drops: 12, atLeast: true }), summary(true));

    // Assess
    expect(combined.deadSetOverCap).toEqual({ entries: 10_010, drops: 12, atLeast: true });
  });

  it("a run says what the last execution saw on the target: an earlier look is older", () => {
    // Act
    const below = chain(summary(false, { entries: 10_010, drops: 12 }), summary(false));
    const over = chain(summary(false), summary(false, { entries: 10_020, drops: 22 }));

    // Assess
    expect(below.deadSetOverCap).toBeUndefined();
    expect(over.deadSetOverCap).toEqual({ entries: 10_020, drops: 22 });
  });
});
