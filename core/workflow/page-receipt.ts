import { hash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { PageInput, WorkItem } from './work-item.js';

/**
 * A page task's answer, kept for a retry of the same input. Step Functions retries a page task
 * whose answer it never got (Lambda.ServiceException, Lambda.SdkClientException: the function may
 * have run to its end), with the input the first attempt had. The pages are done in Redis, and a
 * retry that paged again would find them done and count them in its own words: moved jobs
 * "already routed", transferred ones not counted at all, while the summary says complete. The
 * retry answers with this receipt instead: the counts are those of the attempt that did the work.
 *
 * A hash on the source, beside the run's other records: `<prefix>sidekiq-migrate:<runId>:page-receipts`,
 * one field per item (the digest of its kind and name) overwritten by each invocation of the item,
 * holding the digest of the input it answered and the answer. The run's last execution deletes it
 * when it releases the lock (summarize-step.ts); a stopped or failed run's expires an hour after
 * its last page (a Retry follows within minutes). A dry run writes none.
 */
export const pageReceiptsKey = (prefix: string, runId: string): string => `${prefix}sidekiq-migrate:${runId}:page-receipts`;

const itemField = (item: Pick<WorkItem, 'kind' | 'name'>): string => hash('sha1', `${item.kind}\n${item.name}`, 'hex');

/** How long the receipts outlive the run's last page: a Retry comes within minutes of the attempt it repeats. */
export const PAGE_RECEIPTS_TTL_SECONDS = 3600;

interface Receipt {
  /** The digest of the input answered (settings and item, as the task was given them). */
  readonly input: string;
  readonly answer: WorkItem;
}

/** What tells one input of an item from another: its cursor, iteration, counters and the run's generation. */
export const inputDigest = (input: PageInput): string => hash('sha256', JSON.stringify(input), 'hex');

/**
 * The answer an earlier attempt gave to this very input, if one did; a reply that is not a receipt
 * is none, and so is a failed read: the task then pages as it would without receipts, and the
 * failure is the lock renewal's to report (it is sent beside it, on the same connection).
 */
export async function readPageReceipt(redis: Redis, prefix: string, input: PageInput): Promise<WorkItem | undefined> {
  const text = await redis.hget(pageReceiptsKey(prefix, input.settings.runId), itemField(input.item)).catch(() => null);
  if (text === null) return undefined;
  try {
    const receipt = JSON.parse(text) as Receipt;
    return receipt.input === inputDigest(input) ? receipt.answer : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Keeps `answer` as the answer to `input`. Best effort: the pages are done whether or not it is
 * written, and failing the task for it would lose their counts the way a lost answer does.
 */
export async function writePageReceipt(redis: Redis, prefix: string, input: PageInput, answer: WorkItem): Promise<void> {
  const receipt: Receipt = { input: inputDigest(input), answer };
  const key = pageReceiptsKey(prefix, input.settings.runId);
  await redis
    .multi()
    .hset(key, itemField(input.item), JSON.stringify(receipt))
    .expire(key, PAGE_RECEIPTS_TTL_SECONDS)
    .exec()
    .catch(() => undefined);
}

/** The run is over (its last execution released the lock): no page task of it will be retried. */
export async function forgetPageReceipts(redis: Redis, prefix: string, runId: string): Promise<void> {
  await redis.del(pageReceiptsKey(prefix, runId));
}
