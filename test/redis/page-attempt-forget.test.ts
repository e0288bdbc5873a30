// Two attempts of one page input at once (Step Functions retried the task while its first attempt
// still ran): each counts itself on the run's page receipts (openPageAttempt-7.lua). One that the
// locks' renewal then refuses takes its count back (forgetPageAttempt). It took it back by writing
// its own count less one, so the first attempt, counted 1, deleted the count of the second, which
// went on moving jobs and never answered: a third attempt then found no earlier one, and its counts
// were said exact ("Complete") over jobs counted nowhere. Taking back is now one decrement.
import { describe, expect, it } from 'vitest';
import { runLockKey } from '../../core/redis/run-lock.js';
import { forgetPageAttempt, openPageAttempt, pageReceiptsKey } from '../../core/workflow/page-receipt.js';
import type { PageInput } from '../../core/workflow/work-item.js';
import { connectShared, uniquePrefix } from '../support/redis.js';

const redis = connectShared();

function pageInput(runId: string): PageInput {
  return { settings: { runId, mode: 'transfer' }, item: { kind: 'queue', name: 'q', cursor: null } } as unknown as PageInput;
}

describe('taking back a page attempt', () => {
  it("takes back its own count only: an overlapping attempt's stays, and the next attempt counts it as unanswered", async () => {
    const prefix = uniquePrefix();
    await redis.set(runLockKey(prefix), JSON.stringify({ runId: 'r', operation: 'transfer', expiresAt: Date.now() + 60_000 }));
    const input = pageInput('r');

    const first = await openPageAttempt(redis, prefix, input);
    const second = await openPageAttempt(redis, prefix, input);
    await forgetPageAttempt(redis, prefix, input, first.attempts);
    const third = await openPageAttempt(redis, prefix, input);

    expect([first.attempts, second.attempts]).toEqual([1, 2]);
    expect(third.unanswered).toBe(1);
  });

  it('leaves no field behind when the last attempt counted takes its count back', async () => {
    const prefix = uniquePrefix();
    await redis.set(runLockKey(prefix), JSON.stringify({ runId: 'r', operation: 'transfer', expiresAt: Date.now() + 60_000 }));
    const input = pageInput('r');

    const only = await openPageAttempt(redis, prefix, input);
    await forgetPageAttempt(redis, prefix, input, only.attempts);

    expect(only.attempts).toBe(1);
    expect(await redis.exists(pageReceiptsKey(prefix, 'r'))).toBe(0);
  });
});
