import type { Redis, RedisKey } from 'ioredis';
import { generationArg } from '../redis/generation-arg.js';
import { runLockKey } from '../redis/run-lock.js';
import { originalsKey } from '../transfer/transfer-keys.js';
import { pageReceiptsKey } from '../workflow/page-receipt.js';
import type { QueueCursor } from './queue-slice.js';
import { addCounters, emptyCounters, type RerouteCounters } from './reroute-counters.js';

/**
 * Where a queue's re-route pass stands, kept on its Redis beside the jobs, written by each slice's
 * Lua calls in the same atomic step as their moves (rerouteQueueJobs-n4.lua, its pass key).
 *
 * Why: the pass's cursor (queue-slice.ts QueueCursor: its bound, what it examined, its marks) lives
 * in the task's answer only. A slice whose call ran but whose reply was lost (a dropped connection)
 * left the next task with a cursor that did not know it: a retried first slice had none and read
 * the queue's length again, arrivals included; a later one started from the slice before, whose
 * window the lost call had emptied. Either way the window reached as many jobs up into what was
 * pushed meanwhile and moved them as originals, and the summary said fewer arrived than had.
 *
 * `<prefix>sidekiq-migrate:<run>:originals:queue:NAME` (the transfer's pass count, transfer-keys.ts
 * originalsKey; a run is a re-route or a transfer, never both): a string,
 * `<slice token> <k> <examined after> <generation>\n<vanished> <pushed_1> … <pushed_D>\n<JSON of
 * PassRecord>`, k the last call of the slice that ran in order (call k is written only after call
 * k - 1 of the same slice, so a slice whose call failed in between stays partial), the counts
 * those of its calls (their replies, lost with them), no TTL (as the transfer's: a key with one may be
 * evicted first under volatile-* policies). The slice that ends the pass moves it into a field of
 * the run's page receipts (passEndField, endQueuePass-5.lua), with the length it reads then
 * (queue-slice.ts countArrivals): a retry of that task whose answer was lost (its input for a
 * pass's first slice has no cursor) finds it there, not the queue's length again; the run's last
 * summary deletes it with the receipts (or they expire an hour after a stopped run's last page).
 * A record left by a process killed before its pass's end, on a queue the resumed run has no item
 * for (empty by then), is deleted by that run's last summary (older-passes.ts). A call writes the
 * record only while the run lock is the run's (no later start) and the receipts hold no end of this
 * generation's pass: a page task's attempt Step Functions gave up on that still moved after its pass
 * or its run ended wrote it afresh, a key with no expiry nothing deleted but a resume of the run
 * (overlapping-page-attempts.test.ts); its moves happen as before.
 * A pass with no record (its slices sent no call) leaves its end there all the same (`- 0 0
 * <generation>`, no record: read as none), or such an attempt, whose one job a worker fetched
 * meanwhile, wrote the record after it (pass-end-without-record.test.ts).
 */
export interface PassRecord {
  /** How many calls the slice sent: the slice is whole once call `calls` ran. */
  readonly calls: number;
  /** The pass's cursor before the slice (its first: the bound and ceiling it read), and after it. */
  readonly before: QueueCursor;
  readonly after: QueueCursor;
  /** The slice ended the pass. */
  readonly done: boolean;
  /** The item's counters before the slice, and the slice's own before its calls' replies (no moves). */
  readonly counted: RerouteCounters;
  readonly slice: RerouteCounters;
  /** The calls' destinations, in their order ('' the quarantine list): the record's counts are theirs. */
  readonly names: readonly string[];
}

/** Which pass a run's queue slices keep (page-step.ts gives it for a re-route that writes). */
export interface PassOwner {
  readonly runId: string;
  readonly plannedAt?: number;
  readonly plannedBy?: string;
}

export const passKey = (prefix: string, owner: PassOwner, queue: string): RedisKey => originalsKey(prefix, owner.runId, `queue:${queue}`);

/** Where an ended pass's record is kept: the run's page receipts (a hash) and its field there. */
export const passEndKey = (prefix: string, owner: PassOwner): RedisKey => pageReceiptsKey(prefix, owner.runId);
export const passEndField = (queue: string): string => `pass-end:queue:${queue}`;

/**
 * The pass arguments of call `k` of a slice (rerouteQueueJobs-n4.lua, after the record's members):
 * the slice's token, k, what the pass examined after the slice, the generation, the record (call 1
 * only: the others keep it), the run's id and the receipts' field of the pass's end (the call
 * writes the record only while the run lock is the run's and the pass has not ended).
 */
export function passArgs(owner: PassOwner, queue: string, token: string, k: number, record: PassRecord): string[] {
  return [token, String(k), String(record.after.examined), generationArg(owner), k === 1 ? JSON.stringify(record) : '', owner.runId, passEndField(queue)];
}

/** The keys after the record's key that rerouteQueueJobs-n4.lua looks at before writing it: the run lock, the page receipts. */
export const passGuardKeys = (prefix: string, owner: PassOwner): RedisKey[] => [runLockKey(prefix), passEndKey(prefix, owner)];

/**
 * Where a task of the pass starts: its own cursor, or the pass's record when that knows more, a
 * slice whose answer never reached the task (its calls ran, their reply lost): the cursor after
 * it when the slice is whole, else the one before it (a retried first slice: the bound and ceiling
 * the lost attempt read, not the queue's length now). Only a record of this execution's generation
 * (another start of the run begins its own pass). `done`: the record's slice ended the pass.
 */
export async function passStart(redis: Redis, prefix: string, owner: PassOwner, queue: string, cursor: QueueCursor | null): Promise<{ cursor: QueueCursor | null; done: boolean; counted?: RerouteCounters }> {
  // The record, or, once the pass ended, where its last slice left it (in the same round trip).
  const [[, kept], [, ended]] = (await redis.pipeline().get(passKey(prefix, owner, queue)).hget(passEndKey(prefix, owner), passEndField(queue)).exec()) as [[Error | null, string | null], [Error | null, string | null]];
  const found = parseRecord(kept, generationArg(owner)) ?? parseRecord(ended, generationArg(owner));
  if (found === null) return { cursor, done: false };
  const { k, counts, record } = found;
  const whole = k === record.calls;
  const known = whole ? record.after : record.before;
  if (cursor !== null && known.examined <= cursor.examined) return { cursor, done: false };
  // The item's counters where the task now starts: a whole slice's with what its calls did (their
  // replies, which the record kept); before a partial one, those before it.
  const counted = addCounters(emptyCounters(), record.counted);
  if (whole) addCounters(counted, withCallCounts(record, counts));
  return { cursor: known, done: whole && record.done, counted };
}

/** The slice's counters with its calls' counts: jobs gone before their call, and those pushed to each destination. */
function withCallCounts(record: PassRecord, counts: readonly number[]): RerouteCounters {
  const slice = addCounters(emptyCounters(), record.slice);
  slice.vanished += counts[0] ?? 0;
  record.names.forEach((name, d) => {
    const n = counts[d + 1] ?? 0;
    if (name === '') slice.quarantined += n;
    else if (n > 0) {
      slice.moved += n;
      slice.movedTo[name] = (slice.movedTo[name] ?? 0) + n;
    }
  });
  return slice;
}

function parseRecord(kept: string | null, generation: string): { k: number; counts: number[]; record: PassRecord } | null {
  if (kept === null) return null;
  const [head, counts, ...text] = kept.split('\n');
  const header = /^(\S+) (\d+) (\d+) (.*)$/.exec(head ?? '');
  if (header === null || header[4] !== generation || counts === undefined) return null;
  try {
    return { k: Number(header[2]), counts: counts.split(' ').map(Number), record: JSON.parse(text.join('\n')) as PassRecord };
  } catch {
    return null;
  }
}
