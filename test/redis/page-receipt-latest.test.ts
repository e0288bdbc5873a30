// A page task's receipt (page-receipt.ts writePageReceipt, writePageReceipt-2.lua) is written only
// while the attempt writing it is the latest of its input and no later attempt of it answered: two
// attempts of one input may run at once (Step Functions retried the task while its first still
// ran), and the stale one, ending last, wrote over its retry's receipt. The workflow-level case:
// test/workflow/overlapping-page-attempts.test.ts.
import { describe, expect, it } from 'vitest';
import { runLockKey } from '../../core/redis/run-lock.js';
import { forgetPageAttempt, openPageAttempt, pageReceiptsKey, writePageReceipt } from '../../core/workflow/page-receipt.js';
import type { PageInput, WorkItem } from '../../core/workflow/work-item.js';
import { connectShared, uniquePrefix } from '../support/redis.js';

const redis = connectShared();

function pageInput(runId: string, cursor: unknown = null): PageInput {
  return { settings: { runId, mode: 'transfer' }, item: { kind: 'queue', name: 'q', cursor, iteration: 0 } } as unknown as PageInput;
}
const answer = (by: string): WorkItem => ({ kind: 'queue', name: 'q', cursor: by, done: false, iteration: 1, counters: {} }) as unknown as WorkItem;

async function locked(): Promise<string> {
  const prefix = uniquePrefix();
  await redis.set(runLockKey(prefix), JSON.stringify({ runId: 'r', operation: 'transfer', expiresAt: Date.now() + 60_000 }));
  return prefix;
}

describe("a page receipt is the latest attempt's", () => {
  it("a stale attempt ending after its retry answered leaves the retry's receipt, which a third attempt answers with", async () => {
    const prefix = await locked();
    const input = pageInput('r');
    const stale = await openPageAttempt(redis, prefix, input);
    const retry = await openPageAttempt(redis, prefix, input);

    await writePageReceipt(redis, prefix, input, answer('retry'), retry.attempts);
    await writePageReceipt(redis, prefix, input, answer('stale'), stale.attempts);
    const third = await openPageAttempt(redis, prefix, input);

    expect([stale.attempts, retry.attempts, retry.unanswered]).toEqual([1, 2, 1]);
    expect(third.receipt?.cursor).toBe('retry');
  });

  it("a stale attempt ending after a third attempt answered with its retry's receipt leaves that receipt (the third takes no attempt number)", async () => {
    const prefix = await locked();
    const input = pageInput('r');
    const stale = await openPageAttempt(redis, prefix, input);
    const retry = await openPageAttempt(redis, prefix, input);
    await writePageReceipt(redis, prefix, input, answer('retry'), retry.attempts);
    // The retry's answer lost too: a third attempt answers with its receipt (page-step.ts), and
    // writes nothing. Its open counted it as attempt 1 again: the stale attempt's number.
    const third = await openPageAttempt(redis, prefix, input);

    await writePageReceipt(redis, prefix, input, answer('stale'), stale.attempts);
    const fourth = await openPageAttempt(redis, prefix, input);

    expect(third.receipt?.cursor).toBe('retry');
    expect(fourth.receipt?.cursor).toBe('retry');
  });

  it('a stale attempt ending while its retry still runs writes nothing; the retry writes its own', async () => {
    const prefix = await locked();
    const input = pageInput('r');
    const stale = await openPageAttempt(redis, prefix, input);
    const retry = await openPageAttempt(redis, prefix, input);

    await writePageReceipt(redis, prefix, input, answer('stale'), stale.attempts);
    const meanwhile = await redis.hvals(pageReceiptsKey(prefix, 'r'));
    await writePageReceipt(redis, prefix, input, answer('retry'), retry.attempts);
    const third = await openPageAttempt(redis, prefix, input);

    expect(meanwhile).toEqual(['2']); // the attempts' count only, still the retry's
    expect(third.receipt?.cursor).toBe('retry');
  });

  it("a stale attempt ending after the item's next task answered leaves that task's receipt", async () => {
    const prefix = await locked();
    const input = pageInput('r');
    const stale = await openPageAttempt(redis, prefix, input);
    const retry = await openPageAttempt(redis, prefix, input);
    await writePageReceipt(redis, prefix, input, answer('retry'), retry.attempts);
    const next = pageInput('r', 'retry');
    const nextTask = await openPageAttempt(redis, prefix, next);
    await writePageReceipt(redis, prefix, next, answer('next'), nextTask.attempts);

    await writePageReceipt(redis, prefix, input, answer('stale'), stale.attempts);

    expect((await openPageAttempt(redis, prefix, next)).receipt?.cursor).toBe('next');
  });

  it('a later attempt that took its count back (it moved nothing) leaves the earlier one its receipt; one its open did not count (0) writes as before', async () => {
    const prefix = await locked();
    const input = pageInput('r');
    const first = await openPageAttempt(redis, prefix, input);
    const second = await openPageAttempt(redis, prefix, input);
    await forgetPageAttempt(redis, prefix, input, second.attempts);

    await writePageReceipt(redis, prefix, input, answer('first'), first.attempts);
    expect((await openPageAttempt(redis, prefix, input)).receipt?.cursor).toBe('first');

    await writePageReceipt(redis, prefix, input, answer('uncounted'), 0);
    expect((await openPageAttempt(redis, prefix, input)).receipt?.cursor).toBe('uncounted');
  });
});
