import { hash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LuaScript } from '../redis/lua-script.js';
import { runLockKey, runStopMarkerKey } from '../redis/run-lock.js';
import { generationOf } from './run-generation.js';
import type { PageInput, RunSettings, WorkItem } from './work-item.js';

const openScript = new LuaScript('openPageAttempt-7');
const forgetScript = new LuaScript('forgetPageAttempt-2');
const writeScript = new LuaScript('writePageReceipt-2');

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
 *
 * Beside each receipt, while its task runs, the attempts of its input (`<item field>:<input
 * digest>` → how many started): a retry that finds no receipt but an attempt before it is the
 * retry of an attempt that never answered (Step Functions retried it while it still ran, after it
 * ran out of time, or after a call's reply was lost). What that attempt moved is counted nowhere:
 * the retry says so in its counters (`uncountedAttempts`), and the summary does not present its
 * counts as exact. The receipt's write removes the field: at most one per task running or failed.
 */
export const pageReceiptsKey = (prefix: string, runId: string): string => `${prefix}sidekiq-migrate:${runId}:page-receipts`;

const itemField = (item: Pick<WorkItem, 'kind' | 'name'>): string => hash('sha1', `${item.kind}\n${item.name}`, 'hex');
const attemptField = (input: PageInput): string => `${itemField(input.item)}:${inputDigest(input)}`;

/** How long the receipts outlive the run's last page: a Retry comes within minutes of the attempt it repeats. */
export const PAGE_RECEIPTS_TTL_SECONDS = 3600;

interface Receipt {
  /** The digest of the input answered (settings and item, as the task was given them). */
  readonly input: string;
  readonly answer: WorkItem;
  /**
   * The start of the run whose task answered (generationOf its settings, as JSON): what tells this
   * start's receipt from an earlier one's to a reader without the input (readFailedItemTrails).
   * Absent in a receipt an older version wrote.
   */
  readonly generation?: string;
}

const generationText = (settings: Pick<RunSettings, 'plannedAt' | 'plannedBy'>): string => JSON.stringify(generationOf(settings));

/** What tells one input of an item from another: its cursor, iteration, counters and the run's generation. */
export const inputDigest = (input: PageInput): string => hash('sha256', JSON.stringify(input), 'hex');

/** What a page task finds when it starts (openPageAttempt). */
export interface PageAttempt {
  /** The answer an earlier attempt gave to this very input, if one did. */
  readonly receipt?: WorkItem;
  /**
   * Earlier attempts of this very input that started and gave no answer (none when a receipt
   * answers): what they moved is in no counters.
   */
  readonly unanswered: number;
  /** Attempts counted, this one included (0: not counted: the lock is not this start's, the run is stopped, or a receipt answers this very input). */
  readonly attempts: number;
}

/**
 * Reads the answer an earlier attempt gave to this very input, if one did, and counts this
 * attempt (openPageAttempt-7.lua: one call, where a plain HGET of the receipt was). A reply that
 * is not a receipt is none, and so is a failed call: the task then pages as it would without
 * receipts, and the failure is the lock renewal's to report (it is sent beside it, on the same
 * connection).
 */
export async function openPageAttempt(redis: Redis, prefix: string, input: PageInput): Promise<PageAttempt> {
  const reply = (await openScript
    .run(redis, {
      keys: [pageReceiptsKey(prefix, input.settings.runId), runLockKey(prefix), runStopMarkerKey(prefix, input.settings.runId)],
      args: [itemField(input.item), attemptField(input), PAGE_RECEIPTS_TTL_SECONDS, input.settings.runId, input.settings.plannedAt ?? '', input.settings.plannedBy ?? ''],
    })
    .catch(() => null)) as [Buffer | null, number] | null;
  if (reply === null) return { unanswered: 0, attempts: 0 };
  const attempts = Number(reply[1]);
  const opened = { unanswered: Math.max(0, attempts - 1), attempts };
  if (reply[0] === null) return opened;
  try {
    const receipt = JSON.parse(reply[0].toString('utf8')) as Receipt;
    return receipt.input === inputDigest(input) ? { receipt: receipt.answer, unanswered: 0, attempts } : opened;
  } catch {
    return opened;
  }
}

/**
 * Takes back the count of an attempt that the locks' renewal then refused (another run holds the
 * target's lock: the source's, which openPageAttempt looks at, was still this run's) or that failed
 * before it sent a write: a stale task leaves no key behind. One decrement (forgetPageAttempt-2.lua),
 * never its own count less one, which erased an overlapping attempt's count. `attempts` 0: this
 * attempt was not counted, nothing to take back. Best effort, like the receipt.
 */
export async function forgetPageAttempt(redis: Redis, prefix: string, input: PageInput, attempts: number): Promise<void> {
  if (attempts === 0) return;
  await forgetScript.run(redis, { keys: [pageReceiptsKey(prefix, input.settings.runId)], args: [attemptField(input)] }).catch(() => undefined);
}

/**
 * Keeps `answer` as the answer to `input`, unless a later attempt of the item owns the receipt
 * (writePageReceipt-2.lua): `attempts`, this attempt's number (openPageAttempt's), must still be
 * its input's count. An attempt Step Functions gave up on (its answer lost) that ends after its
 * retry answered wrote over the retry's receipt: a third attempt of the input then answered with
 * counts that held none of the retry's moves and said nothing of them (the summary "Complete",
 * every count exact and short; test/workflow/overlapping-page-attempts.test.ts). `attempts` 0 (not
 * counted: its open failed): written as before. Best effort: the pages are done whether or not it
 * is written, and failing the task for it would lose their counts the way a lost answer does.
 */
export async function writePageReceipt(redis: Redis, prefix: string, input: PageInput, answer: WorkItem, attempts: number): Promise<void> {
  const receipt: Receipt = { input: inputDigest(input), answer, generation: generationText(input.settings) };
  await writeScript
    .run(redis, { keys: [pageReceiptsKey(prefix, input.settings.runId)], args: [itemField(input.item), attemptField(input), attempts, JSON.stringify(receipt), PAGE_RECEIPTS_TTL_SECONDS] })
    .catch(() => undefined);
}

/** The run is over (its last execution released the lock): no page task of it will be retried. */
export async function forgetPageReceipts(redis: Redis, prefix: string, runId: string): Promise<void> {
  await redis.del(pageReceiptsKey(prefix, runId));
}

/** What an item's failed task left on the run's page receipts (readFailedItemTrails). */
export interface FailedItemTrail {
  /** The item's last answer by this start of the run, which Step Functions may never have got. */
  readonly answer?: WorkItem;
  /** Attempts of the item's inputs that started and never answered: what they moved is in no answer. */
  readonly unanswered: number;
}

/**
 * What failed items' tasks did that their failure does not carry (the Catch keeps the counters the
 * failed task was given): each item's last receipt of this start of the run, the answer of the
 * failed task itself when it wrote one before failing (its answer lost on every retry), and the
 * attempts of its inputs that never answered (a task that failed after its pages ran and before
 * its receipt). Read once the items have ended: no task of them runs (an attempt Step Functions
 * gave up on while its Lambda still ran excepted). One HGETALL (a command the permission check
 * covers; HSCAN is not), on failures only: the hash holds one receipt per item. Attempt fields an
 * earlier start of the run left (its receipts live an hour past its last page) are counted too:
 * they can only make the counts said to be short.
 */
export async function readFailedItemTrails(redis: Redis, prefix: string, settings: Pick<RunSettings, 'runId' | 'plannedAt' | 'plannedBy'>, items: readonly Pick<WorkItem, 'kind' | 'name'>[]): Promise<FailedItemTrail[]> {
  const all = await redis.hgetall(pageReceiptsKey(prefix, settings.runId));
  const generation = generationText(settings);
  return items.map((item) => {
    const field = itemField(item);
    let unanswered = 0;
    for (const [name, value] of Object.entries(all)) if (name.startsWith(`${field}:`)) unanswered += Math.max(0, Number(value) || 0);
    const text = all[field];
    if (text === undefined) return { unanswered };
    try {
      const receipt = JSON.parse(text) as Receipt;
      const ours = receipt.generation === generation && receipt.answer.kind === item.kind && receipt.answer.name === item.name;
      return ours ? { answer: receipt.answer, unanswered } : { unanswered };
    } catch {
      return { unanswered };
    }
  });
}
