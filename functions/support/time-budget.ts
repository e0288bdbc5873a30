import type { Context } from 'aws-lambda';
import { DEFAULT_COMMAND_TIMEOUT_MS } from '../../core/redis/connect-redis.js';

/**
 * Time kept back from a page task's budget: the deadline is checked between pages, so the
 * margin must cover one page in flight plus returning the result (and middy's early timeout,
 * 5 ms before Lambda's). The page in flight may meet a hung Redis (a failover): its command
 * then waits for the connection's command timeout before the page fails, and only a page that
 * fails before middy's timeout lets the task return the pages it wrote before it (a task failing
 * on middy's timeout is retried from its input's cursor and counters, and the counts of every
 * page of the invocation are lost). So: the command timeout, plus 15 s for the page's other
 * commands on a slow Redis (WAITs included). A short invocation keeps half its time instead.
 * A transfer slice that sent the next slice's claim ahead (core/transfer/claim-ahead.ts) is followed
 * by that slice even past the deadline; it sends none once the deadline has passed, so at most one
 * slice (at most MAX_JOBS_PER_CLAIM jobs and MAX_PAGE_BYTES of payloads) runs after it, within the
 * 15 s. At the default page size a page is one slice, and claims nothing ahead.
 */
export const SAFETY_MARGIN_MS = DEFAULT_COMMAND_TIMEOUT_MS + 15_000;

/**
 * The epoch ms after which a page task starts no new page: now + the invocation's remaining time
 * − the safety margin (or − half the remaining time, if that is smaller).
 */
export function pageDeadline(context: Pick<Context, 'getRemainingTimeInMillis'>, now: number = Date.now()): number {
  const remaining = Math.max(0, context.getRemainingTimeInMillis());
  return now + remaining - Math.min(SAFETY_MARGIN_MS, remaining / 2);
}

/**
 * The epoch ms after which a summary's looks over the whole keyspace (quarantine lists, in-flight
 * keys, jobs in workers' private lists: SCANs, thousands of round trips on a Redis with millions
 * of other keys) read no further page: half the invocation's remaining time, as the drain check's
 * reading of set entries, the other half for the rest of the summary. A look cut short says so.
 */
export function summaryLookUntil(context: Pick<Context, 'getRemainingTimeInMillis'>, now: number = Date.now()): number {
  return now + Math.max(0, context.getRemainingTimeInMillis()) / 2;
}

/**
 * The epoch ms after which one of the plan's looks over the whole source keyspace, starting now,
 * reads no further page (PlanOptions.lookUntil): a quarter of the invocation's remaining time, the
 * rest for the plan's own work after it (listing the queues, finishing interrupted transfers,
 * storing the list). A look cut short says so.
 */
export function planLookUntil(context: Pick<Context, 'getRemainingTimeInMillis'>, now: number = Date.now()): number {
  return now + Math.max(0, context.getRemainingTimeInMillis()) / 4;
}

/**
 * The epoch ms by which the plan's one walk of the whole source keyspace (PlanOptions.walkUntil),
 * starting now, must have reached its end: half the invocation's remaining time, the other half
 * for the plan's work after it (finishing interrupted transfers, storing the list, the bounded
 * look for other prefixes' jobs). A walk that does not stops the plan with a clear error
 * (PlanWalkTooLongError) rather than the function's timeout killing it.
 */
export function planWalkUntil(context: Pick<Context, 'getRemainingTimeInMillis'>, now: number = Date.now()): number {
  return now + Math.max(0, context.getRemainingTimeInMillis()) / 2;
}

/**
 * The epoch ms after which the plan's resume of what interrupted transfers left in flight
 * (PlanOptions.resumeUntil), starting now, starts no further in-flight key: half the invocation's
 * remaining time, the other half for the plan's work after it (listing the queues, cron, storing
 * the list, the look for other prefixes' jobs). One with more to do stops the plan with
 * PlanResumeTooLongError, which the state machine retries: each try finishes more.
 */
export function planResumeUntil(context: Pick<Context, 'getRemainingTimeInMillis'>, now: number = Date.now()): number {
  return now + Math.max(0, context.getRemainingTimeInMillis()) / 2;
}

/**
 * The epoch ms by which a dry run's walk for its queue lists in "Add up and list the next sets and
 * queues" (AddUpOptions.listUntil; a dry run stores no list, and this container may not have it),
 * starting now, must have reached its end: half the invocation's remaining time, as the plan's
 * walk. One that does not stops the dry run with DryRunListTooLongError.
 */
export function addUpListUntil(context: Pick<Context, 'getRemainingTimeInMillis'>, now: number = Date.now()): number {
  return now + Math.max(0, context.getRemainingTimeInMillis()) / 2;
}
