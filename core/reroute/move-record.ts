import type { Redis } from 'ioredis';
import { FatalError } from '../errors/sidekiq-migrate-error.js';
import { keyspaceCut, scanBounded, type KeyspaceCut, type ScanBound } from '../redis/bounded-scan.js';
import { classifyRedisError } from '../redis/redis-errors.js';
import { RESERVED_RUN_IDS } from '../config/reserved-run-ids.js';
import { InputError } from '../errors/input-error.js';
import { escapeGlob } from './discover-queues.js';
import type { RecordedMove } from '../routing/reverse-plan.js';
import { PLAIN_SHAPE, shapeKey, type MoveShape } from '../payload/move-shape.js';

/**
 * A re-route run's record of what it moved where — one member per distinct (routed class, from
 * queue, to queue) — so that `rollback` can put the jobs back. A set on the source Redis, written
 * by each Lua call of a page in the same script as its moves, right after them, with the members
 * of the jobs it moved only (recordArgs gives it the candidates, and each job the index of its
 * own): a job never moves without its record, and a job that vanished before its call (a fetcher
 * or the poller took it) or conflicted records nothing, so a rollback never meets a move that did
 * not happen. Not as commands of their own sent ahead of the calls: Redis refuses that SADD when
 * its memory is full (noeviction) but still runs the calls behind it, whose first write (an LREM,
 * a ZREM) it lets through; and such a SADD cannot know which jobs are still there.
 */
export const movesKey = (prefix: string, runId: string): string => `${prefix}sidekiq-migrate:${runId}:moves`;

/** How long a run can be rolled back: refreshed by each page that moves jobs. */
export const MOVES_TTL_SECONDS = 30 * 24 * 3600;

/**
 * What a re-route Lua call (rerouteQueueJobs-n4.lua, rerouteSetEntries-n6.lua) is given to record
 * the `moves` that happen: its record key (none when nothing is recorded: a run without an id, or
 * a call that moves no job, such as one of quarantined jobs only) and its arguments: the count of
 * members, the record's time to live, the members (each job then names its own by moveIndex).
 */
export function recordArgs(moves: PageMoves, prefix: string, runId: string | undefined): { keys: string[]; args: string[] } {
  const members = runId === undefined ? [] : moves.members();
  if (members.length === 0) return { keys: [], args: ['0', ''] };
  return { keys: [movesKey(prefix, runId!)], args: [String(members.length), String(MOVES_TTL_SECONDS), ...members] };
}

/**
 * A job's move index as its Lua call takes it: `index` (PageMoves.add's) when the call records
 * (`record`, recordArgs's, has a key), else '0' (nothing to record).
 */
export function moveIndex(record: { keys: string[] }, index: number): string {
  return record.keys.length === 0 ? '0' : String(index);
}

/** The distinct moves of one page or Lua call, collected as it decides (a few, whatever its size). */
export class PageMoves {
  // One map a call, keyed by the member's text (knownMember's, the same string object for the same
  // move): `add` runs once per moved job, and nested maps a call (three per distinct move, a set
  // call's entries having ~50 classes) and a JSON text per move and call were a sixth of what a
  // re-route allocated on the heap (issue #18).
  private readonly indexes = new Map<string, number>();
  private readonly list: string[] = [];

  /**
   * A job of `routedClass` is about to move from `from` to `to`, its bytes rewritten with `shape`
   * (move-shape.ts). Renames are recorded by class too: a rollback then moves back only the
   * classes the run moved, not the jobs the destination queue already had. Returns the move's
   * 1-based index among `members()`, which the job's Lua call is given so that it records the
   * move only if it moves the job (moveIndex).
   */
  add(routedClass: string, from: string | null, to: string, shape: MoveShape = PLAIN_SHAPE): number {
    const member = knownMember(routedClass, from, to, shape);
    const known = this.indexes.get(member);
    if (known !== undefined) return known;
    this.list.push(member);
    this.indexes.set(member, this.list.length);
    return this.list.length;
  }

  /** The members that record them (encodeMove), in the order first added. */
  members(): string[] {
    return [...this.list];
  }
}

/**
 * Each distinct move's member, written once for the whole process rather than once per Lua call
 * (class → from → to → shapeKey). A run meets a few hundred; past KNOWN_MOVES_KEPT (a rollback of
 * jobs each spelled otherwise, say) it starts over, so that it never grows without bound: a move
 * met again is then written again, to the same text.
 */
const knownMoves = new Map<string, Map<string | null, Map<string, Map<string, string>>>>();
let knownMovesCount = 0;
const KNOWN_MOVES_KEPT = 50_000;

function knownMember(routedClass: string, from: string | null, to: string, shape: MoveShape): string {
  let byFrom = knownMoves.get(routedClass);
  if (byFrom === undefined) knownMoves.set(routedClass, (byFrom = new Map()));
  let tos = byFrom.get(from);
  if (tos === undefined) byFrom.set(from, (tos = new Map()));
  let shapes = tos.get(to);
  if (shapes === undefined) tos.set(to, (shapes = new Map()));
  const key = shapeKey(shape);
  const known = shapes.get(key);
  if (known !== undefined) return known;
  const member = encodeMove(key === '' ? { routedClass, from, to } : { routedClass, from, to, shape });
  if (knownMovesCount >= KNOWN_MOVES_KEPT) {
    knownMoves.clear();
    knownMovesCount = 0;
    return member;
  }
  shapes.set(key, member);
  knownMovesCount++;
  return member;
}

/**
 * A member: the JSON array `["Class","from","to"]` (`from` null when the entry had no queue), with
 * a fourth element, the move's shape (`{"queue":…,"queueName":…}`, move-shape.ts), only for jobs
 * whose bytes undoing by name would not give back.
 */
export function encodeMove(move: RecordedMove): string {
  const shape = move.shape ?? PLAIN_SHAPE;
  if (shapeKey(shape) === '') return JSON.stringify([move.routedClass, move.from, move.to]);
  return JSON.stringify([move.routedClass, move.from, move.to, shape]);
}

export function decodeMove(member: string): RecordedMove | null {
  try {
    const value: unknown = JSON.parse(member);
    if (!Array.isArray(value) || (value.length !== 3 && value.length !== 4)) return null;
    const [routedClass, from, to, shape] = value as unknown[];
    if (typeof routedClass !== 'string' || (typeof from !== 'string' && from !== null) || typeof to !== 'string') return null;
    if (value.length === 3) return { routedClass, from, to };
    const decoded = decodeShape(shape);
    return decoded === null ? null : { routedClass, from, to, shape: decoded };
  } catch {
    return null;
  }
}

function decodeShape(value: unknown): MoveShape | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const { queue, queueName, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return null;
  if (queue !== undefined && queue !== null && typeof queue !== 'string') return null;
  if (queueName !== undefined && typeof queueName !== 'string') return null;
  return { ...(queue === undefined ? {} : { queue }), ...(queueName === undefined ? {} : { queueName }) };
}

/** A run's recorded moves, or null when it has no record (see the rollback plan's message). */
export async function readMoves(redis: Redis, prefix: string, runId: string): Promise<RecordedMove[] | null> {
  const key = movesKey(prefix, runId);
  let members: string[];
  try {
    members = await redis.smembers(key);
  } catch (error) {
    // A name the tool keeps keys of its own under (reserved-run-ids.ts: `quarantine`, whose
    // `quarantine:moves` is the quarantine list of a queue named `moves`) is not a run: bad input,
    // not a Redis to check. (A run of that name from before the names were reserved kept a set
    // there, which reads as any record.)
    if (RESERVED_RUN_IDS.has(runId) && isWrongType(error)) {
      const type = await redis.type(key).catch(() => 'other');
      throw new InputError(`Run ${runId} cannot be rolled back: "${runId}" is a name sidekiq-migrate keeps keys of its own under, and ${key} is one of them (a ${type}), not a record of moves. Nothing was touched.`);
    }
    throw classifyRedisError(error, `Reading the moves of run ${runId} (${key})`);
  }
  if (members.length === 0) return null;
  return members.sort().map((member) => {
    const move = decodeMove(member);
    if (move === null) throw new FatalError(`${key} holds ${JSON.stringify(member.slice(0, 80))}, which is not a move this tool records; not rolling back from it.`);
    return move;
  });
}

/** Where a search for a run's record under other prefixes found it, and how far it got when its time ran out. */
export interface MovesPrefixes {
  readonly prefixes: string[];
  /** Set when it stopped before the end of the keyspace (ScanBound.until): a record among the keys after may be missed. */
  readonly cut?: KeyspaceCut;
}

/**
 * The prefixes under which run `runId` keeps a record of its moves, from a SCAN of the whole Redis
 * bounded by `bound` (the plan's look time: it runs inside the plan task; it used to stop after
 * 100,000 keys whatever the time, and then said the run had recorded nothing): a rollback given
 * another `--namespace` than its run's finds none under its own, and says where the record is
 * rather than that there is none — or, cut short, how far it looked.
 */
export async function movesPrefixes(redis: Redis, runId: string, bound: ScanBound = {}): Promise<MovesPrefixes> {
  const suffix = movesKey('', runId);
  const found = new Set<string>();
  try {
    const extent = await scanBounded(redis, `*${escapeGlob(suffix)}`, bound, (keys) => {
      // A prefix is empty or ends in ':' (sidekiq-keys.ts): a longer run id merely ending the same is not this run.
      for (const bytes of keys) {
        const key = bytes.toString();
        const prefix = key.slice(0, key.length - suffix.length);
        if (prefix === '' || prefix.endsWith(':')) found.add(prefix);
      }
    });
    const prefixes = [...found].sort();
    return extent.cutShort === 'time' ? { prefixes, cut: await keyspaceCut(redis, extent.pages) } : { prefixes };
  } catch (error) {
    throw classifyRedisError(error, `Looking for the moves of run ${runId} under other prefixes`);
  }
}

function isWrongType(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('WRONGTYPE');
}
