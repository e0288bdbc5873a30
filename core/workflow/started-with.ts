import type { Redis } from 'ioredis';
import type { RoutingPlan } from '../routing/routing-plan.js';
import type { PlannedReplicas } from '../transfer/transfer-options.js';
import { MOVES_TTL_SECONDS } from '../reroute/move-record.js';
import { serializeRouting, type SerializedRouting } from './stored-routing.js';

/**
 * What a run was started with, fixed by its first plan: its operation, routing and selected
 * classes, each as one canonical string (null: none). A run resumed with other routing would move
 * the rest of its jobs elsewhere than those it moved, and a re-route's rollback record would hold
 * both routings' moves; with other classes a move would move other classes' jobs. The plan step
 * stores :routing and :classes again at every plan (replacing them), and deletes the work list
 * when the run ends (stopped, failed, finished): neither tells what the run first moved with, nor
 * whether a run that stored neither (a plain move) planned at all. This record does.
 */
export interface StartedWith {
  readonly mode: 'reroute' | 'transfer';
  readonly routing: string | null;
  readonly classes: string | null;
  /**
   * A transfer's target, by the id the target itself keeps (target-identity.ts), as its first plan
   * found it: resumed to another Redis, the rest of its jobs would go there and the run would be
   * split between two servers, its summary and records mixed. Absent for a re-route, and in a
   * record written before it was kept (such a run's target is the one holding its ledgers: see runDiffers).
   */
  readonly target?: string;
  /**
   * When the run started: epoch ms by the source Redis's clock (TIME), taken by its first plan
   * just before it wrote the record. Its page tasks renew the record's 30 days (keepRunRecords),
   * so its time to live no longer tells when it started (rollback's look for runs that moved its
   * jobs on after it, moved-on-since.ts, reads this). Absent in a record an older version wrote:
   * such a record was never renewed, and its start is when its 30 days began (recordedStart);
   * the first plan of this version that resumes the run writes that start into it
   * (recordStartedWith), and only then do its pages renew it.
   */
  readonly startedAt?: number;
  /**
   * A transfer's: the replicas its WAITs ask for at least on each side (`--from-replicas`,
   * `--to-replicas`; 0: not asked), as its first plan was given them (asked-replicas.ts): every
   * later plan of the run waits for these, given the options or not, and refuses other counts.
   * Absent in a re-route's, and in a record an older version wrote (the first plan of this version
   * that resumes the run adds the count it is given: recordStartedWith).
   */
  readonly replicas?: PlannedReplicas;
}

/**
 * As long as the moves record `rollback` reads, and like it renewed by the run's page tasks
 * (keepRunRecords; the moves record by every moving page): a run resumed with other routing within it would mix
 * that record. Not deleted when the run completes, for that reason (a finished re-route named again
 * with other routing is refused: cli-run-id-other-routing), and for a transfer as well (one rule):
 * it is no Sidekiq data and no leftover, which the looks under a prefix (hasSidekiqData, the drain
 * check's other prefixes and leftovers) do not count, so after a namespace move the old prefix
 * still reads as empty (cli-namespace-move).
 */
export const STARTED_WITH_TTL_SECONDS = MOVES_TTL_SECONDS;

export const startedWithKey = (prefix: string, runId: string): string => `${prefix}sidekiq-migrate:${runId}:started-with`;

/** The canonical record of a run started with `plan` (none: a plain move) and `classes` (none: every class), to `target` (a transfer's target id), waiting for `replicas` (a transfer's ask). */
export function startedWith(mode: StartedWith['mode'], plan: RoutingPlan | undefined, classes: readonly string[] | undefined, target?: string, replicas?: PlannedReplicas): StartedWith {
  return { mode, routing: plan ? canonicalRouting(serializeRouting(plan)) : null, classes: classes ? canonicalClasses(classes) : null, ...(target !== undefined ? { target } : {}), ...(replicas !== undefined ? { replicas } : {}) };
}

/** What a plan's recordStartedWith did. */
export interface StartRecorded {
  /** This call wrote the record (the run's first plan): a first plan that fails before it moved anything deletes it (forgetStartedWith). */
  readonly wrote: boolean;
  /**
   * The record carries the run's start (startedAt, written now or by an earlier plan, or added
   * now to an older version's record): its page tasks may renew it (RunSettings.renewsStartedWith).
   * False for a record that does not parse, or has no time to live (none of ours): left as it is.
   */
  readonly keepsStart: boolean;
}

/**
 * Records what run `runId` was started with, and when (startedAt: the source's clock), unless a
 * plan of it recorded it already (SET NX: a resumed run keeps its first plan's). Written by the
 * plan step once it holds the run lock and its list is made, before any job of the run moves. A
 * record an older version wrote (no startedAt, never renewed) is given the start its time to live
 * tells (recordedStart), its expiry kept, so that renewing it from now on loses nothing; a
 * transfer's record without an ask for replicas (an older version's) is given this plan's, which
 * its later plans then go by (asked-replicas.ts). Two round
 * trips (TIME, SET), a third and a fourth only for a resumed run's record (GET and PTTL together,
 * then the older record's SET).
 */
export async function recordStartedWith(redis: Redis, prefix: string, runId: string, record: StartedWith): Promise<StartRecorded> {
  const key = startedWithKey(prefix, runId);
  const now = await serverTimeMs(redis);
  if ((await redis.set(key, JSON.stringify({ ...record, startedAt: now }), 'EX', STARTED_WITH_TTL_SECONDS, 'NX')) === 'OK') return { wrote: true, keepsStart: true };
  const [[readError, text], [ttlError, pttl]] = (await redis.pipeline().get(key).pttl(key).exec())! as [[Error | null, string | null], [Error | null, number]];
  if (readError ?? ttlError) throw readError ?? ttlError;
  const kept = parsedRecord(text);
  if (kept === undefined) return { wrote: false, keepsStart: false };
  const hasStart = typeof kept.startedAt === 'number';
  // A transfer's record of an older version names no ask for replicas: this plan's is added.
  const addsAsk = kept.mode === 'transfer' && kept.replicas === undefined && record.replicas !== undefined;
  if (hasStart && !addsAsk) return { wrote: false, keepsStart: true };
  const startedAt = hasStart ? kept.startedAt : recordedStart(now, pttl);
  if (startedAt === undefined) return { wrote: false, keepsStart: false };
  // XX KEEPTTL: its expiry is still its first plan's, and a record deleted meanwhile stays deleted.
  const upgraded = await redis.set(key, JSON.stringify({ ...kept, startedAt, ...(addsAsk ? { replicas: record.replicas } : {}) }), 'KEEPTTL', 'XX');
  return { wrote: false, keepsStart: hasStart || upgraded === 'OK' };
}

/**
 * When a run started by a record without startedAt (an older version's, never renewed): its 30
 * days began then, so it is `now` less the part of them gone. Undefined without a time to live
 * (gone, or kept for good: none of ours). `now` and the record's time to live on the same server.
 */
export function recordedStart(now: number, pttl: number): number | undefined {
  return pttl > 0 ? now + pttl - STARTED_WITH_TTL_SECONDS * 1000 : undefined;
}

/** The record's parsed value, or undefined when it is none of ours (missing, not JSON, no known operation). */
export function parsedRecord(text: string | null): StartedWith | undefined {
  if (text === null) return undefined;
  try {
    const parsed = JSON.parse(text) as StartedWith | null;
    return parsed !== null && typeof parsed === 'object' && (parsed.mode === 'reroute' || parsed.mode === 'transfer') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The server's clock, epoch ms (TIME: one clock for every run's start, whatever machine planned it). */
export async function serverTimeMs(redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/**
 * What run `runId` was started with: its record; for a run planned before the record was kept, its
 * stored routing and classes while its work list is there (it planned, and had not ended); else
 * undefined (never planned, a dry run, or 30 days past its last page task, or past its first plan for a run no plan of this version resumed). A record that does not parse is
 * one no command's routing equals.
 */
export async function readStartedWith(redis: Redis, prefix: string, runId: string, legacy: { routingKey: string; selectionKey: string; workListKey: string; mode: StartedWith['mode'] }): Promise<StartedWith | undefined> {
  const text = await redis.get(startedWithKey(prefix, runId));
  if (text !== null) {
    const parsed = parsedRecord(text);
    if (parsed !== undefined) return parsed;
    return { mode: legacy.mode, routing: `unreadable ${text}`, classes: `unreadable ${text}` };
  }
  if ((await redis.exists(legacy.workListKey)) === 0) return undefined;
  const routing = await redis.get(legacy.routingKey);
  const classes = await redis.get(legacy.selectionKey);
  return { mode: legacy.mode, routing: parsedOr(routing, (r: SerializedRouting) => canonicalRouting(r)), classes: parsedOr(classes, (c: string[]) => canonicalClasses(c)) };
}

/** What differs between what a run was started with and what a command would resume it with. */
export type StartDifference = 'routing' | 'classes' | 'both';

export function startDifference(started: StartedWith, wanted: StartedWith): StartDifference | undefined {
  const routing = started.routing !== wanted.routing;
  const classes = started.classes !== wanted.classes;
  return routing && classes ? 'both' : routing ? 'routing' : classes ? 'classes' : undefined;
}

/** A stored JSON value as one string (null when none is stored; one no value equals when it does not parse). */
function parsedOr<T>(text: string | null, of: (value: T) => string): string | null {
  if (text === null) return null;
  try {
    return of(JSON.parse(text) as T);
  } catch {
    return `unreadable ${text}`;
  }
}

/** Classes in no particular order: a selection written in another order is the same selection. */
function canonicalClasses(classes: readonly string[]): string {
  return JSON.stringify([...classes].sort());
}

/** A routing as one string, whatever the order of its entries (a mapping file with its lines in another order is the same routing). */
function canonicalRouting(routing: SerializedRouting): string {
  const sorted = (entries: Record<string, string>) => Object.entries(entries).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  switch (routing.kind) {
    case 'classes':
      return JSON.stringify(['classes', sorted(routing.mapping), [...(routing.liveQueues ?? [])].sort()]);
    case 'renames':
      return JSON.stringify(['renames', sorted(routing.renames)]);
    case 'reverse':
      return JSON.stringify(['reverse', routing.of, routing.moves.map((m) => JSON.stringify(m)).sort()]);
  }
}
