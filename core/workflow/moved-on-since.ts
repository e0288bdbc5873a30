import type { Redis } from 'ioredis';
import { classifyRedisError } from '../redis/redis-errors.js';
import type { PageLook } from '../redis/shared-walk.js';
import { escapeGlob } from '../reroute/discover-queues.js';
import { decodeMove, movesKey, MOVES_TTL_SECONDS } from '../reroute/move-record.js';
import type { RecordedMove, ReverseRoutingPlan } from '../routing/reverse-plan.js';
import { parsedRecord, recordedStart, startedWithKey } from './started-with.js';
import { RESERVED_RUN_IDS } from '../config/reserved-run-ids.js';
import { FatalError } from '../errors/sidekiq-migrate-error.js';
import { displayName } from '../redis/key-name.js';

/**
 * A rollback of run R drains the queues R moved jobs to. A later run that moved those classes on
 * from there (R: a→b, then R2: b→c) took R's jobs with it: R's rollback finds nothing on b and
 * said "Complete" over jobs it never put back. The records say so: every re-route (and rollback)
 * under the same prefix keeps its moves, and its first plan's record (started-with.ts startedAt;
 * or, for a run older than that record, its moves record's expiry) tells when it started, its moves record's expiry
 * (renewed by its every moving page) when it last moved. A run that moved jobs after R started
 * is a later one, even one started before R and run again or resumed after it.
 */
export interface MovedOnSince {
  /** The run rolled back. */
  readonly of: string;
  /** The later runs to roll back first, newest first (at most MOVED_ON_RUNS_KEPT). */
  readonly runs: readonly string[];
  /** How many there are in all. */
  readonly totalRuns: number;
  /** Where R's jobs went since: R's destination, and where they are now by the records (the first few). */
  readonly places: readonly MovedOnPlace[];
  /** How many (class, queue) places in all. */
  readonly totalPlaces: number;
  /**
   * The search for other runs' records stopped after this many keys (MOVED_ON_SEARCH_KEYS) before
   * it reached the end: a later run it did not find may have moved jobs on. Said, never as none.
   */
  readonly cutShortAfter?: number;
}

export interface MovedOnPlace {
  readonly routedClass: string;
  /** The queue R put them on. */
  readonly from: string;
  /** The queue they are on now, by the records. */
  readonly now: string;
}

/** Named in a run's state at most: the settings travel with every page. */
const MOVED_ON_RUNS_KEPT = 10;
const MOVED_ON_PLACES_KEPT = 5;
/**
 * Keys the search for other runs' records looks at, at most (SCAN pages of 1,000: a thousand
 * calls, about a second, in a rollback's plan). A Sidekiq Redis with more keys (unique-job locks,
 * say) is told that the look was cut short.
 */
const MOVED_ON_SEARCH_KEYS = 1_000_000;

/** A later run that moved R's jobs of a class on, and the queue it took them from. */
interface Step {
  readonly runId: string;
  readonly from: string;
}

interface TimedRecord {
  readonly runId: string;
  /**
   * When the run started and when it last moved jobs, epoch ms by the server's clock (its first
   * plan's record's startedAt; its moves record's expiry less its 30 days, renewed by every moving
   * page). Without a first plan's record for every run, both are the latter.
   */
  readonly started: number;
  readonly lastMoved: number;
  readonly moves: readonly RecordedMove[];
}

/**
 * The runs under `prefix` that moved the jobs of run `plan.of` on from where it put them, after it,
 * and where those jobs are now by the records; undefined when none did, or when the records cannot
 * tell when the runs ran. Read-only (a dry run asks too). Bounded: the key search stops after
 * `searchKeys` keys, and says so (cutShortAfter).
 */
export async function movedOnSince(redis: Redis, prefix: string, plan: ReverseRoutingPlan, searchKeys = MOVED_ON_SEARCH_KEYS): Promise<MovedOnSince | undefined> {
  return movedOnAmong(plan, await readTimedRecords(redis, prefix, searchKeys));
}

/**
 * The run ids of the records of moves under `prefix` (`sidekiq-migrate:RUN:moves`) as a look a
 * shared walk feeds (shared-walk.ts: the plan's, which walks the whole keyspace once anyway, so
 * it reads every record, not only those among the first MOVED_ON_SEARCH_KEYS keys).
 */
export function movesRecordsLook(prefix: string): PageLook & { runIds(): string[] } {
  const head = `${prefix}sidekiq-migrate:`;
  const runIds = new Set<string>();
  return {
    heads: [head],
    onPage: (page) => {
      for (const bytes of page) {
        const key = bytes.toString();
        const runId = key.endsWith(':moves') ? runIdOfRecord(head, key) : null;
        if (runId !== null) runIds.add(runId);
      }
    },
    runIds: () => [...runIds],
  };
}

/** movedOnSince among the records of the runs `runIds` (movesRecordsLook found them). */
export async function movedOnSinceAmong(redis: Redis, prefix: string, plan: ReverseRoutingPlan, runIds: readonly string[]): Promise<MovedOnSince | undefined> {
  return movedOnAmong(plan, await readRecords(redis, prefix, runIds));
}

/** A record's run id, or null for a key that is no record of ours under this prefix. */
function runIdOfRecord(head: string, key: string): string | null {
  const runId = key.slice(head.length, key.length - ':moves'.length);
  // A run id has no ':' (rollback-options.ts): a longer key is another prefix's record. Nor is it a
  // name the tool keeps keys of its own under: `quarantine:moves` is the quarantine list of a queue
  // named `moves`, whose SMEMBERS failed every rollback's plan.
  return !runId.includes(':') && runId.length > 0 && !RESERVED_RUN_IDS.has(runId) ? runId : null;
}

function movedOnAmong(plan: ReverseRoutingPlan, { records, cutShortAfter }: { records: TimedRecord[]; cutShortAfter?: number }): MovedOnSince | undefined {
  const cut = cutShortAfter === undefined ? {} : { cutShortAfter };
  const none = cutShortAfter === undefined ? undefined : { of: plan.of, runs: [], totalRuns: 0, places: [], totalPlaces: 0, ...cut };
  const own = records.find((r) => r.runId === plan.of);
  if (own === undefined) return none;
  // Later: a run that moved jobs after R started, whenever it started itself (a run started before
  // R, run again or resumed after it, drains the queues R put jobs on as any later run does).
  const later = records.filter((r) => r.runId !== plan.of && r.lastMoved > own.started).sort((a, b) => b.lastMoved - a.lastMoved);
  if (later.length === 0) return none;
  // Per class: each queue its jobs of R may be on now, with the runs (newest first) that took them
  // there, each with the queue it took them from.
  const where = new Map<string, Map<string, Step[]>>();
  const origins = new Map<string, Set<string>>();
  const putOn = new Map<string, Set<string>>();
  for (const move of plan.moves) {
    const byQueue = where.get(move.routedClass) ?? new Map<string, Step[]>();
    byQueue.set(move.to, []);
    where.set(move.routedClass, byQueue);
    putOn.set(move.routedClass, (putOn.get(move.routedClass) ?? new Set()).add(move.to));
    if (move.from !== null) origins.set(move.routedClass, (origins.get(move.routedClass) ?? new Set()).add(move.from));
  }
  // Oldest first: each later run moves the class's jobs off the queues it drained.
  for (const record of [...later].reverse()) {
    const moved = new Map<string, Map<string, Step[]>>();
    for (const move of record.moves) {
      const byQueue = where.get(move.routedClass);
      const path = move.from === null ? undefined : byQueue?.get(move.from);
      if (!byQueue || path === undefined || move.from === null || move.from === move.to) continue;
      const next = moved.get(move.routedClass) ?? new Map<string, Step[]>();
      // Back on a queue they passed through (a rollback of a later run, say): the runs since are undone.
      const back = path.findIndex((step) => step.from === move.to);
      next.set(move.to, back >= 0 ? path.slice(back + 1) : [{ runId: record.runId, from: move.from }, ...path]);
      moved.set(move.routedClass, next);
    }
    for (const [routedClass, next] of moved) {
      const byQueue = where.get(routedClass)!;
      // A run drains a queue of every job of a class it routes elsewhere: none of R's are left there.
      for (const move of record.moves) if (move.routedClass === routedClass && move.from !== null && move.from !== move.to) byQueue.delete(move.from);
      for (const [queue, path] of next) byQueue.set(queue, path);
    }
  }
  const places: MovedOnPlace[] = [];
  const runs = new Set<string>();
  for (const [routedClass, byQueue] of where) {
    for (const [queue, path] of byQueue) {
      // Still where R put them (rolled back by hand since, or never moved), or back where R took them from (R's undoing done by a later run).
      if (putOn.get(routedClass)?.has(queue) || origins.get(routedClass)?.has(queue) || path.length === 0) continue;
      // The oldest step took them from where R put them.
      places.push({ routedClass, from: path[path.length - 1]!.from, now: queue });
      for (const step of path) runs.add(step.runId);
    }
  }
  if (places.length === 0) return none;
  const ordered = later.map((r) => r.runId).filter((id) => runs.has(id));
  places.sort((a, b) => (a.routedClass < b.routedClass ? -1 : a.routedClass > b.routedClass ? 1 : a.now < b.now ? -1 : a.now > b.now ? 1 : 0));
  return { of: plan.of, runs: ordered.slice(0, MOVED_ON_RUNS_KEPT), totalRuns: ordered.length, places: places.slice(0, MOVED_ON_PLACES_KEPT), totalPlaces: places.length, ...cut };
}

/** Every run's record of moves under `prefix`, with when it ran (its started-with record, else its moves record). */
async function readTimedRecords(redis: Redis, prefix: string, searchKeys: number): Promise<{ records: TimedRecord[]; cutShortAfter?: number }> {
  const head = `${prefix}sidekiq-migrate:`;
  const runIds = new Set<string>();
  try {
    let cursor = '0';
    let seen = 0;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${escapeGlob(head)}*:moves`, 'COUNT', 1000);
      cursor = next;
      seen += 1000;
      for (const key of keys) {
        const runId = runIdOfRecord(head, key);
        if (runId !== null) runIds.add(runId);
      }
    } while (cursor !== '0' && seen < searchKeys);
    const cutShortAfter = cursor === '0' ? undefined : seen;
    const { records } = await readRecords(redis, prefix, [...runIds]);
    return cutShortAfter === undefined ? { records } : { records, cutShortAfter };
  } catch (error) {
    throw classifyRedisError(error, `Looking for runs that moved jobs on after the run to roll back (${head}*:moves)`);
  }
}

/**
 * The records of moves of the runs `ids` under `prefix`, with when each ran: its start by its
 * started-with record (startedAt; for an older version's record, which was never renewed, when its
 * 30 days began), else its moves record's; when it last moved by its moves record's expiry. One
 * round trip: the server's clock (TIME) with the records, every time on that clock.
 */
async function readRecords(redis: Redis, prefix: string, ids: readonly string[]): Promise<{ records: TimedRecord[] }> {
  try {
    const pipeline = redis.pipeline().time();
    for (const runId of ids) pipeline.get(startedWithKey(prefix, runId)).pttl(startedWithKey(prefix, runId)).pttl(movesKey(prefix, runId)).smembers(movesKey(prefix, runId));
    const replies = (await pipeline.exec()) ?? [];
    const [timeError, time] = replies[0]!;
    if (timeError) throw timeError;
    const [seconds, micros] = time as [string, string];
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const read = ids.map((runId, i) => {
      const at = 1 + 4 * i;
      const [[e1, text], [e2, startTtl], [e3, moved], [e4, members]] = [replies[at]!, replies[at + 1]!, replies[at + 2]!, replies[at + 3]!];
      const error = e1 ?? e2 ?? e3 ?? e4;
      if (error) throw error;
      // A member no run of ours wrote moves nothing we can follow (rollback refuses its own such record).
      const moves = (members as string[]).map(decodeMove).filter((m): m is RecordedMove => m !== null);
      const record = parsedRecord(text as string | null);
      // Its start as written, or for a record without it (an older version's, or none we can read),
      // when its 30 days began, as it was read before the start was written into it.
      const started = typeof record?.startedAt === 'number' ? record.startedAt : text === null ? undefined : recordedStart(now, startTtl as number);
      return { runId, moves, started, moved: moved as number };
    });
    // Every record with its first plan's record: a run started then; otherwise at its last moving
    // page too. Each last moved when its moves record was given its 30 days (renewed by its run's
    // every moving page).
    const byStart = read.every((r) => r.started !== undefined);
    // A moves record without a TTL (none of ours: each moving call renews it) tells nothing of
    // when its run last moved (-1: before any run): its start is taken, as before moves were told
    // apart from starts.
    const records = read.map(({ runId, moves, started, moved }) => {
      const movedAt = moved > 0 ? now + moved - MOVES_TTL_SECONDS * 1000 : -1;
      return { runId, moves, started: byStart ? started! : movedAt, lastMoved: moved > 0 || !byStart ? movedAt : started! };
    });
    return { records };
  } catch (error) {
    throw classifyRedisError(error, `Reading the records of runs that may have moved jobs on after the run to roll back (${prefix}sidekiq-migrate:*:moves)`);
  }
}

/** A (class, queue) run R moved jobs to, which another re-route filled from another queue too. */
export interface SharedPlace {
  readonly routedClass: string;
  readonly to: string;
  /** The queue R moved them from. */
  readonly from: string | null;
  readonly otherRun: string;
  /** The queue the other run moved them from. */
  readonly otherFrom: string | null;
}

/**
 * The places R's rollback would put back jobs of another run: a rollback puts back every job of a
 * class on a queue R moved it to (by class and queue: jobs carry no run), so where another run
 * moved that class to that queue too, from another
 * queue, the rollback moved that run's jobs to R's origin, and said "Complete" (audit-rbdeployed).
 * The records cannot tell whose each job is. `runIds`: the other re-routes' records (not rollbacks':
 * a rollback puts jobs back where they were before its run moved them), read as movedOnSinceAmong reads them.
 */
export async function sharedPlacesAmong(redis: Redis, prefix: string, plan: ReverseRoutingPlan, runIds: readonly string[]): Promise<SharedPlace[]> {
  const { records } = await readRecords(redis, prefix, runIds.filter((id) => id !== plan.of));
  const shared: SharedPlace[] = [];
  for (const move of plan.moves) {
    for (const record of records) {
      const other = record.moves.find((m) => m.routedClass === move.routedClass && m.to === move.to && m.from !== move.from && m.from !== m.to);
      if (other && !shared.some((s) => s.routedClass === move.routedClass && s.to === move.to && s.otherRun === record.runId)) {
        shared.push({ routedClass: move.routedClass, to: move.to, from: move.from, otherRun: record.runId, otherFrom: other.from });
      }
    }
  }
  return shared.sort((a, b) => (`${a.routedClass}\0${a.to}\0${a.otherRun}` < `${b.routedClass}\0${b.to}\0${b.otherRun}` ? -1 : 1));
}

/** A rollback refused: another run moved a class to a queue run `of` moved it to, from another queue. */
export class SharedPlaceError extends FatalError {}

/** The words of SharedPlaceError for `shared` (the first five named, then how many more). */
export function sharedPlaceError(of: string, shared: readonly SharedPlace[]): SharedPlaceError {
  const queue = (q: string | null) => (q === null ? 'entries without a queue field' : displayName(q));
  const named = shared.slice(0, 5).map((s) => `run ${s.otherRun} moved class ${s.routedClass} to ${displayName(s.to)} from ${queue(s.otherFrom)} (run ${of} from ${queue(s.from)})`);
  const more = shared.length > 5 ? ` and ${shared.length - 5} more` : '';
  const [first] = shared;
  const runs = [...new Set(shared.map((s) => s.otherRun))].join(', ');
  return new SharedPlaceError(
    `A rollback of run ${of} would put back jobs another run moved: ${named.join('; ')}${more}. A rollback puts back every job of a class on a queue its run moved it to (a job does not say which run moved it), ` +
      `so it would put ${first!.otherRun}'s jobs on ${queue(first!.from)}, and a rollback of ${runs} would put ${of}'s elsewhere. Refused while those runs' records are kept (30 days). ` +
      `Move the jobs of those classes on those queues by hand, each to the queue it came from. Nothing was touched.`,
  );
}
