import type { Context } from 'aws-lambda';

/**
 * Time kept back from a page task's budget: the deadline is checked between pages, so the
 * margin must cover one page in flight plus returning the result (and middy's early timeout,
 * 5 ms before Lambda's). A short invocation keeps half its time instead.
 */
export const SAFETY_MARGIN_MS = 10_000;

/**
 * The epoch ms after which a page task starts no new page: now + the invocation's remaining time
 * − the safety margin (or − half the remaining time, if that is smaller).
 */
export function pageDeadline(context: Pick<Context, 'getRemainingTimeInMillis'>, now: number = Date.now()): number {
  const remaining = Math.max(0, context.getRemainingTimeInMillis());
  return now + remaining - Math.min(SAFETY_MARGIN_MS, remaining / 2);
}
