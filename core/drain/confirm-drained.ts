import type { Redis } from 'ioredis';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';
import { awaitTwoBeats, BEAT_WAIT_CAP_MS, type BeatWaitOptions } from './await-beats.js';
import { KEYSPACE_LOOKS, type DrainReport } from './drain-report.js';
import { judgeDrain } from './judge-drain.js';
import { censusProcesses, type SidekiqProcess } from './live-processes.js';
import { jobsInOneLook, type LookedAt } from './one-look.js';
import { runningJobs } from './running-jobs.js';
import { quarantineListsSince } from './quarantine-lists.js';
import type { ScanBound } from '../redis/bounded-scan.js';

/** Processes a report names per kind (the count covers every one). */
const NAMED = 10;

export interface ConfirmContext {
  /** The retired queues a scoped check looks at (empty: the whole Redis). */
  readonly retired: ReadonlySet<string>;
  /** The places the check found empty, to look at once more after the wait. */
  readonly places: LookedAt;
  /**
   * The sets read again as the check read them (its count limit, a time bound of their own), at
   * this time (epoch seconds): what comes due is reckoned from it.
   */
  readonly rereadSets: (nowSeconds: number) => Promise<DrainReport['sets']>;
  /** How to give the check more time, said when its second reading of the sets ran out of it. */
  readonly moreTime?: string;
  readonly previous?: DrainReport;
  readonly staleAfterSeconds?: number;
  /** The check's time (epoch seconds), by which its census judged which processes are live: the same here. */
  readonly nowSeconds: number;
  readonly wait: BeatWaitOptions;
  /** The bound of the walk for quarantine lists after the last look (quarantine-lists.ts): its time, after the wait. */
  readonly lateWalk: ScanBound;
}

/**
 * A `drained` verdict, confirmed or taken back. Sidekiq's own fetch (BRPOP) takes a job off its
 * queue into the memory of a process, whose heartbeat writes it to `IDENTITY:workers` only at its
 * next beat (every 5 s; 10 s from Sidekiq 7): a job fetched less than a beat before the check found
 * the lists empty is in no list and in no heartbeat, and the check said DRAINED over it. When live
 * processes of the scope (every live one; with retired queues, those fetching from one of them;
 * quiet ones too, which finish what they run) exist, the check waits, bounded, until each has
 * beaten twice, then reads what their heartbeats say they run, the places it found empty once
 * more and the sets as the check read them (a job that ended meanwhile failing is in `retry`, one
 * that died in `dead`; one whose process stopped, back on its queue): scoped to retired queues,
 * the entries naming them count, as in the check's own look (with them uncounted, a job that
 * failed into `retry` during the wait was said DRAINED over). A process that did not beat twice in time, stopped or appeared meanwhile leaves the
 * check not sure: `draining`, never `drained`.
 */
export async function confirmDrained(redis: Redis, keys: SidekiqKeys, report: DrainReport, ctx: ConfirmContext): Promise<DrainReport> {
  const scoped = ctx.retired.size > 0;
  const ofScope = (p: SidekiqProcess) => p.live && (!scoped || p.queues.some((q) => ctx.retired.has(q)));
  const clock = ctx.wait.clock ?? Date.now;
  const start = clock();
  // The check's time, moved on by what the wait takes.
  const now = () => ctx.nowSeconds + (clock() - start) / 1000;
  const before = (await censusProcesses(redis, keys, now(), ctx.staleAfterSeconds)).processes.filter(ofScope);
  if (before.length === 0) return report;
  // A process not heard from for more than SILENT_BEATS beats may have been killed and never beat
  // again: waiting for it would take the whole bound and still not confirm. It is not waited for,
  // and leaves the check not sure (said with when its heartbeat expires) until it beats or its
  // hash expires (it is then no longer live).
  const silent = before.filter((p) => p.silentSeconds !== undefined);
  const identities = before.filter((p) => p.silentSeconds === undefined).map((p) => p.identity);
  const bound = Math.min(ctx.wait.until ?? Infinity, clock() + BEAT_WAIT_CAP_MS);
  if (identities.length > 0) {
    ctx.wait.onWait?.(
      `Nothing left ${scoped ? 'of the retired queues ' : ''}in lists and sets; waiting up to ${Math.max(0, Math.round((bound - clock()) / 1000))} s for the ${identities.length} live Sidekiq process(es) ${scoped ? 'fetching from them ' : ''}to beat twice: a job one fetched less than a beat ago is in no list and shows only in its next heartbeat.`,
    );
  }
  const outcome = identities.length > 0 ? await awaitTwoBeats(redis, keys, identities, { ...ctx.wait, until: bound }) : { waitedMs: 0, late: [], stopped: [] };
  // What the heartbeats say now, then the places found empty, once more.
  const after = (await censusProcesses(redis, keys, now(), ctx.staleAfterSeconds)).processes;
  const known = new Set(before.map((p) => p.identity));
  const appeared = after.filter((p) => ofScope(p) && !known.has(p.identity)).map((p) => p.identity);
  const running = await runningJobs(redis, keys, after, [], (queue) => !scoped || ctx.retired.has(queue));
  const looked = await jobsInOneLook(redis, keys, ctx.places);
  // The sets, as the first look read them: a job that failed meanwhile is in `retry` (one that
  // died, in `dead`). Unscoped, the look above counted schedule and retry whole (ZCARD, at once
  // with the lists); this reading names what they hold. Scoped, only the entries naming a retired
  // queue count, which no ZCARD tells: counted here, then the lists looked at once more, since the
  // poller may have moved a due entry from a page not yet read to a retired queue's list already
  // looked at (a job moving the other way, into a set, was in its list at the look above).
  const readAt = now();
  const sets = await ctx.rereadSets(readAt);
  const movedAfter = scoped ? await jobsInOneLook(redis, keys, ctx.places) : 0;
  // A job in a list at both looks is one job.
  const moved = Math.max(looked, movedAfter);
  // A quarantine list a concurrent quarantining run created since the check's walk (or the walk
  // after its look) is in neither look: walked for once more, after them. Cut short, said.
  // In-flight keys alike: a transfer's claim since moved jobs into one neither look read.
  const late = await quarantineListsSince(redis, keys, [...ctx.places.lists, ...ctx.places.sets, ...report.inflight.map((l) => l.key)], ctx.lateWalk);
  const lateJobs = [...late.lists, ...late.inflight].reduce((n, l) => n + l.size, 0);
  const byKey = <T extends { readonly key: string }>(found: readonly T[]) => [...found].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const quarantine = late.lists.length > 0 ? byKey([...(report.quarantine ?? []), ...late.lists]) : report.quarantine;
  const inflight = late.inflight.length > 0 ? byKey([...report.inflight, ...late.inflight]) : report.inflight;
  const cut = report.keyspaceLookCutShort;
  const keyspaceLookCutShort = !late.cutShort
    ? cut
    : cut
      ? { ...cut, looks: [...new Set([...cut.looks, ...KEYSPACE_LOOKS.leftovers])], lookedAt: Math.min(cut.lookedAt, late.cutShort.lookedAt), keys: Math.max(cut.keys, late.cutShort.keys) }
      : { looks: [...KEYSPACE_LOOKS.leftovers], lookedAt: late.cutShort.lookedAt, keys: late.cutShort.keys, ...(ctx.moreTime ? { moreTime: ctx.moreTime } : {}) };
  const entries = scoped ? sets.schedule.toRetiredQueues + sets.retry.toRetiredQueues : 0;
  const count = outcome.late.length + outcome.stopped.length + appeared.length + silent.length;
  const first = <T>(ids: readonly T[]) => ids.slice(0, NAMED);
  const notHeardFrom = first([...silent].sort((a, b) => b.silentSeconds! - a.silentSeconds! || (a.identity < b.identity ? -1 : 1))).map((p) => ({
    identity: p.identity,
    silentSeconds: p.silentSeconds!,
    beatEverySeconds: p.beatEverySeconds,
    heartbeatExpiresInSeconds: p.heartbeatExpiresInSeconds ?? 0,
  }));
  const beatWait: NonNullable<DrainReport['beatWait']> = {
    processes: before.length,
    waitedSeconds: Math.round(outcome.waitedMs / 100) / 10,
    ...(count > 0 ? { unconfirmed: { late: first(outcome.late), stopped: first(outcome.stopped), appeared: first(appeared), count, ...(silent.length > 0 ? { silent: notHeardFrom } : {}) } } : {}),
  };
  const { verdict: _drained, ...rest } = report;
  const found = (running?.jobs ?? 0) + moved + entries + lateJobs;
  const scheduled = sets.schedule.orphaned + sets.retry.orphaned;
  const partial = {
    ...rest,
    beatWait,
    sets,
    ...(quarantine ? { quarantine } : {}),
    inflight,
    ...(keyspaceLookCutShort ? { keyspaceLookCutShort } : {}),
    orphans: { ...report.orphans, scheduled, total: report.orphans.queued + scheduled },
    ...(ctx.moreTime && Object.values(sets).some((s) => s.readBeforeTimeRanOut !== undefined) ? { moreTime: ctx.moreTime } : {}),
    ...(running ? { running } : {}),
    remaining: report.remaining + found,
    ...(moved > 0 ? { movedDuringCheck: (report.movedDuringCheck ?? 0) + moved } : {}),
  };
  // "The last due in": from this reading of the sets, not from the check's start (before the wait).
  return { ...partial, verdict: judgeDrain(partial, ctx.previous, readAt) };
}
