import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { generationOfRecord, PlanSupersededError } from '../errors/plan-superseded-error.js';
import { ExecutionEndedBeforePlanError } from '../errors/execution-ended-before-plan-error.js';
import { RunStoppedError } from '../errors/run-stopped-error.js';
import { RunSupersededError } from '../errors/run-superseded-error.js';
import { FatalError } from '../errors/sidekiq-migrate-error.js';
import { LuaScript } from './lua-script.js';
import { classifyRedisError } from './redis-errors.js';

const acquireScript = new LuaScript('acquireRunLock-5');
const renewScript = new LuaScript('renewRunLock-4');

/** Who holds a lock: enough for an operator to find the run and decide to wait or kill it. */
export interface LockHolder {
  readonly runId: string;
  readonly operation: 'reroute' | 'transfer';
  readonly host: string;
  readonly pid: number;
  /** When the execution holding the lock planned (its plannedAt), else when this holder took it. */
  readonly startedAt: string;
  /**
   * When the execution holding the run's lock planned it (epoch ms). The clean-up after an ended
   * execution leaves the lock alone when it is later than that execution's end: the run was
   * started again meanwhile. A later step of an execution names its execution's plannedAt here
   * (RunSettings.plannedAt): refused when the lock carries a later one (RunSupersededError).
   */
  readonly plannedAt?: number;
  /**
   * The execution whose plan took the lock (its ARN; RunSettings.plannedBy), when known: the
   * clean-up after an ended execution leaves a lock another execution's plan took alone, whatever
   * the clocks say (an old root execution redriven after a later start names no plannedAt).
   */
  readonly plannedBy?: string;
  /** When the lock expires unless renewed (epoch ms, the server's clock), written by the lock scripts. */
  readonly expiresAt?: number;
}

/** Another run holds the lock. Not retryable at once; it may be after the holder ends or expires. */
export class RunLockedError extends FatalError {
  constructor(
    readonly where: string,
    readonly holder: LockHolder | string,
    readonly expiresInMs: number,
  ) {
    const who =
      typeof holder === 'string'
        ? `a lock we cannot read (${holder.slice(0, 80)})`
        : `run ${holder.runId} (${holder.operation}, ${holder.host} pid ${holder.pid}, started ${holder.startedAt})`;
    const expiry = expiresInMs < 0 ? 'the lock has no expiry: delete it by hand once you are sure that run is gone' : `the lock expires in ${Math.ceil(expiresInMs / 1000)} s unless that run renews it. Wait for it, or stop it.`;
    super(`${where} is locked by ${who}; ${expiry}`);
  }
}

/**
 * A step of a running execution found that its run no longer holds the lock: it is gone (it
 * expired, and another run took it and released it), or another run took it and its lock expired
 * too. That run may have worked the same sets and queues meanwhile, so the step writes nothing
 * and the lock is not taken again. Not retryable: a retry would find the lock lost again. Nothing
 * is lost: every page is atomic or resumable, and the next run finishes what this one left.
 */
export class RunLockLostError extends FatalError {
  constructor(
    readonly runId: string,
    readonly where: string,
    /** The lock's record now (another run's, expired), or undefined when the lock is gone. */
    readonly holder?: LockHolder | string,
    /** What was found, in place of the words `holder` gives (a claim sees only that the lock is not the run's). */
    found?: string,
  ) {
    const now =
      found !== undefined
        ? found
        : holder === undefined
        ? 'the lock is gone (it expired, and another run may have taken and released it meanwhile)'
        : typeof holder === 'string'
          ? `it expired and a lock we cannot read (${holder.slice(0, 80)}) replaced it`
          : `it expired and run ${holder.runId} (${holder.operation}, ${holder.host} pid ${holder.pid}, started ${holder.startedAt}) took it`;
    super(`Run ${runId} lost its run lock on ${where}: ${now}; this step moves nothing more and does not take the lock again (nothing is lost: run it again to resume).`);
  }
}

/** The lock key, under the Sidekiq key prefix so that two applications sharing a Redis do not collide. */
export const runLockKey = (prefix: string): string => `${prefix}sidekiq-migrate:lock`;

/**
 * A run's stop marker: while it exists, no step of the run takes or renews the lock, so a Lambda
 * still running for a stopped execution ends after its page. One per run id: it never blocks
 * another run. A new execution of the run clears it (`resume`).
 */
export const runStopMarkerKey = (prefix: string, runId: string): string => `${prefix}sidekiq-migrate:${runId}:stopped`;

/**
 * The record of one ended execution of a run (by its plan's execution ARN, the lock's plannedBy),
 * written by the clean-up after its end with the stop marker, and living as long: while it exists
 * a plan of that execution takes no lock (acquireRunLock-5.lua, { 5 }). One key per execution, so
 * that a later end of the run (the marker then names that one) replaces none, and each expires.
 */
export const runEndedExecutionKey = (prefix: string, runId: string, executionArn: string): string => `${prefix}sidekiq-migrate:${runId}:ended-execution:${executionArn}`;

/**
 * How long a stop marker lives: far longer than any step of the stopped execution can still be
 * running (a Lambda lives 15 minutes), yet a run that is never resumed leaves no key for good.
 */
export const RUN_STOP_MARKER_TTL_MS = 7 * 24 * 3600_000;

/** What the clean-up after an ended execution did on one Redis. */
export type EndRunOutcome = 'released' | 'not-held' | 'superseded';

/**
 * A run lock held on one Redis: two transfers, or a transfer and a re-route, never interleave on
 * the same keys. It expires so that a crashed holder does not block forever — by a time written in
 * its value, not a TTL, so that no volatile-* eviction policy can evict it (acquireRunLock-5.lua);
 * a live run renews it on every page (`renew`) and releases it at the end. A stopped run (its stop marker set) can
 * be taken again only by a new execution of the run (`newExecution`).
 */
export class RunLock {
  private constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly holder: LockHolder,
    readonly ttlMs: number,
    private readonly where: string,
  ) {}

  get runId(): string {
    return this.holder.runId;
  }

  get key(): string {
    return runLockKey(this.prefix);
  }

  /**
   * Takes the lock for a run, or throws RunLockedError naming the holder. A step of a running
   * execution (the default) is refused with RunStoppedError when the run was stopped. A new
   * execution of the run (`newExecution`, the plan step) takes it even then, and records when it
   * planned; it calls `resume()` once it holds all of the run's locks. A step of a workflow
   * execution, which took the lock when it planned (`mustHold`: a page task, a continuation's
   * plan), renews it only while it still names the run: when it is gone, or another run's and
   * expired, it throws RunLockLostError and takes nothing (acquireRunLock-5.lua, 'hold').
   */
  static async acquire(
    redis: Redis,
    prefix: string,
    holder: Omit<LockHolder, 'host' | 'pid' | 'startedAt'> & Partial<LockHolder>,
    ttlMs: number,
    where: string,
    options: { readonly newExecution?: boolean; readonly mustHold?: boolean } = {},
  ): Promise<RunLock> {
    const record: LockHolder = {
      host: hostname(),
      pid: process.pid,
      // A later step of an execution takes the lock again: its execution's start stays the one named.
      // (An execution planned before plans recorded one names plannedAt 0, run-generation.ts: not a start time.)
      startedAt: new Date(holder.plannedAt !== undefined && holder.plannedAt > 0 ? holder.plannedAt : Date.now()).toISOString(),
      ...(options.newExecution ? { plannedAt: Date.now() } : {}),
      ...holder,
    };
    const keys = [runLockKey(prefix), runStopMarkerKey(prefix, record.runId), ...(options.newExecution && record.plannedBy !== undefined ? [runEndedExecutionKey(prefix, record.runId, record.plannedBy)] : [])];
    let reply: [number, Buffer?, number?];
    try {
      reply = (await acquireScript.run(redis, { keys, args: [record.runId, JSON.stringify(record), ttlMs, options.newExecution ? 'start' : options.mustHold ? 'hold' : 'continue'] })) as typeof reply;
    } catch (error) {
      throw classifyRedisError(error, `Taking the run lock on ${where}`);
    }
    if (reply[0] === 2) throw new RunStoppedError(record.runId, `on ${where}`);
    // Its execution ended before this plan took the lock, and its clean-up already ran (acquireRunLock-5.lua).
    if (reply[0] === 5) throw new ExecutionEndedBeforePlanError(record.runId, record.plannedBy ?? '', where);
    // A new execution's plan that a later start of the run got ahead of (acquireRunLock-5.lua).
    if (reply[0] === 3 && options.newExecution) throw new PlanSupersededError(record.runId, generationOf(record), generationOfRecord(reply[1]), where, "took the run's lock");
    if (reply[0] === 3) throw new RunSupersededError(record.runId, `on ${where}`, plannedAtOf(reply[1]));
    if (reply[0] === 4) throw new RunLockLostError(record.runId, where, reply[1] === undefined ? undefined : holderOf(reply[1]));
    if (reply[0] !== 1) throw new RunLockedError(where, holderOf(reply[1] ?? ''), reply[2] ?? 0);
    return new RunLock(redis, prefix, record, ttlMs, where);
  }

  /**
   * Extends the lock while this run holds it (expired or not: nobody took it since); false when
   * it is gone or another run's, even expired (never taken again: the run lost it).
   * Throws RunStoppedError when the run was stopped, RunSupersededError when a later execution of
   * the run holds the lock: the caller must move nothing more.
   */
  async renew(): Promise<boolean> {
    const reply = await renewScript.run(this.redis, { keys: this.keys(), args: [this.runId, 'renew', this.ttlMs, JSON.stringify(this.holder)] });
    if (reply === 2) throw new RunStoppedError(this.runId, `on ${this.where}`);
    if (reply === 3) throw new RunSupersededError(this.runId, `on ${this.where}`);
    return reply === 1;
  }

  /**
   * Writes the lock again as this run's plan took it (acquireRunLock-5.lua 'start', with the
   * plan's plannedAt and plannedBy: refused, PlanSupersededError, once a later start of the run
   * took it), its expiry renewed: true once written. A write on this connection for a WAIT to
   * cover (replica-wait.ts `fence`) while the plan resumes what earlier attempts left in flight,
   * which `renew` cannot be: the run may still be stopped then (its marker is lifted by `resume`,
   * once the plan is done), and `renew` refuses a stopped run. Only for a lock a plan took.
   */
  async rewrite(): Promise<boolean> {
    await RunLock.acquire(this.redis, this.prefix, this.holder, this.ttlMs, this.where, { newExecution: true });
    return true;
  }

  /**
   * Clears the run's stop marker (a new execution resumes a stopped run), only while this run
   * holds the lock — and, for a lock a plan took (it knows when), only while the lock still
   * carries that plan's plannedAt and plannedBy: a later start of the run that took it since, and
   * was stopped since, stays stopped (PlanSupersededError). Throws if it does not any more, as a
   * renewal would.
   */
  async resume(): Promise<void> {
    const { plannedAt, plannedBy } = this.holder;
    const reply = await renewScript.run(this.redis, { keys: this.keys(), args: [this.runId, 'resume', 0, '', '', plannedAt ?? '', plannedBy ?? ''] });
    if (reply === 3 && plannedAt !== undefined) {
      const now = generationOfRecord(await this.redis.get(this.key));
      throw new PlanSupersededError(this.runId, { plannedAt, ...(plannedBy !== undefined ? { plannedBy } : {}) }, now, this.where, "lifted the run's stop marker");
    }
    if (reply !== 1) throw new FatalError(`Run ${this.runId} lost its run lock on ${this.where} while planning; stopping (nothing is lost: the next run resumes).`);
  }

  async release(): Promise<boolean> {
    return RunLock.releaseIfHeld(this.redis, this.prefix, this.runId, this.holder.plannedAt, this.holder.plannedBy);
  }

  /**
   * Releases the lock if `runId` holds it (a later step of the same run, which has no RunLock
   * object) — not when it was taken by an execution of the run planned after `plannedAt` (when
   * the releasing execution planned, if known), nor by another execution's plan than `plannedBy`
   * (its ARN, if known), whatever the clocks say.
   */
  static async releaseIfHeld(redis: Redis, prefix: string, runId: string, plannedAt?: number, plannedBy?: string): Promise<boolean> {
    return (await renewScript.run(redis, { keys: [runLockKey(prefix), runStopMarkerKey(prefix, runId)], args: [runId, 'release', 0, '', '', plannedAt ?? '', plannedBy ?? ''] })) === 1;
  }

  /** Whether the lock's record names `runId` (expired or not): that run got as far as taking it. */
  static async namesRun(redis: Redis, prefix: string, runId: string): Promise<boolean> {
    const record = await redis.get(runLockKey(prefix));
    if (record === null) return false;
    try {
      return (JSON.parse(record) as Partial<LockHolder>).runId === runId;
    } catch {
      return false;
    }
  }

  /**
   * When the execution of `runId` that holds the lock planned, if that is later than `plannedAt`
   * (an execution superseded by a later start of the run), or the same and the lock names another
   * execution's plan than `plannedBy` (both known: a start in the same millisecond); undefined
   * otherwise, and when either plannedAt is unknown.
   */
  static async supersededBy(redis: Redis, prefix: string, runId: string, plannedAt: number | undefined, plannedBy?: string): Promise<number | undefined> {
    return (await RunLock.supersedingPlan(redis, prefix, runId, plannedAt, plannedBy))?.plannedAt;
  }

  /**
   * As supersededBy, with the later execution's ARN (its plan's `plannedBy`) when the lock names
   * one: the execution an operator follows (`sidekiq-migrate watch <it>`) to see the run end.
   */
  static async supersedingPlan(redis: Redis, prefix: string, runId: string, plannedAt: number | undefined, plannedBy?: string): Promise<{ plannedAt: number; plannedBy?: string } | undefined> {
    if (plannedAt === undefined) return undefined;
    const record = await redis.get(runLockKey(prefix));
    const later = plannedAtOf(record, runId);
    if (later === undefined) return undefined;
    const heldBy = plannedByOf(record);
    const plan = { plannedAt: later, ...(heldBy !== undefined ? { plannedBy: heldBy } : {}) };
    if (later > plannedAt) return plan;
    return later === plannedAt && plannedBy !== undefined && heldBy !== undefined && heldBy !== plannedBy ? plan : undefined;
  }

  /**
   * The ARN of the execution whose plan of `runId` holds the lock, when that plan is the one of
   * `laterPlannedAt` (a later start that superseded an execution, known by its plannedAt only: a
   * Lua step's refusal) and the lock names it; undefined once that start released the lock.
   */
  static async laterPlannedBy(redis: Redis, prefix: string, runId: string, laterPlannedAt: number): Promise<string | undefined> {
    const record = await redis.get(runLockKey(prefix));
    return plannedAtOf(record, runId) === laterPlannedAt ? plannedByOf(record) : undefined;
  }

  /**
   * The clean-up after an execution of the run ended without finishing (stopped, timed out,
   * failed): sets the stop marker (`mark`) and releases the lock if the run holds it — unless
   * another execution's plan holds it, whose run goes on ('superseded'): one whose ARN is not
   * `plannedBy` (the execution whose plan the ended one belongs to), when both are known; else one
   * that planned after `endedAt`, or after `plannedAt` (when the ended execution planned).
   */
  static async endRun(
    redis: Redis,
    prefix: string,
    runId: string,
    options: { readonly mark: boolean; readonly endedAt?: number; readonly plannedAt?: number; readonly plannedBy?: string; readonly reason?: string; readonly recordEnd?: boolean },
  ): Promise<EndRunOutcome> {
    // `endedBy`, and the ended execution's own record (KEYS[3], with `recordEnd`: only when its plan
    // may still be running, a stopped or timed-out execution's): that plan must take no lock
    // (acquireRunLock-5.lua, { 5 }), even once a later end of the run is the one the marker names.
    // A failed execution's plan has ended: no record, so that a refused run's clean-up writes nothing.
    const marker = JSON.stringify({ runId, stoppedAt: new Date().toISOString(), ...(options.reason ? { reason: options.reason } : {}), ...(options.plannedBy !== undefined ? { endedBy: options.plannedBy } : {}) });
    // Classified: a refusal (the run's user may no longer run SET, say) is said as such, not as an unexpected ReplyError.
    const reply = await renewScript
      .run(redis, {
        keys: [runLockKey(prefix), runStopMarkerKey(prefix, runId), ...(options.recordEnd && options.plannedBy !== undefined && options.plannedBy !== '' ? [runEndedExecutionKey(prefix, runId, options.plannedBy)] : [])],
        args: [runId, 'stop', options.mark ? RUN_STOP_MARKER_TTL_MS : 0, options.endedAt ?? '', marker, options.plannedAt ?? '', options.plannedBy ?? ''],
      })
      .catch((error: unknown) => {
        throw classifyRedisError(error, `Ending run ${runId} (its stop marker and run lock)`);
      });
    return reply === 3 ? 'superseded' : reply === 1 ? 'released' : 'not-held';
  }

  private keys(): string[] {
    return [runLockKey(this.prefix), runStopMarkerKey(this.prefix, this.runId)];
  }
}

/** A new execution's holder record's generation (it always has a plannedAt: `acquire` sets one). */
function generationOf(record: LockHolder): { plannedAt: number; plannedBy?: string } {
  return { plannedAt: record.plannedAt ?? 0, ...(record.plannedBy !== undefined ? { plannedBy: record.plannedBy } : {}) };
}

/** A lock's record as a holder, or as the text it is when it cannot be read. */
function holderOf(record: Buffer | string): LockHolder | string {
  const text = String(record);
  try {
    return JSON.parse(text) as LockHolder;
  } catch {
    return text; // not ours to parse: shown as it is
  }
}

/** The plannedBy of a lock's holder record, if it is readable and names one. */
function plannedByOf(record: string | null): string | undefined {
  if (record === null) return undefined;
  try {
    const holder = JSON.parse(record) as Partial<LockHolder>;
    return typeof holder.plannedBy === 'string' ? holder.plannedBy : undefined;
  } catch {
    return undefined;
  }
}

/** The plannedAt of a lock's holder record (of `runId`, when given), if it is readable. */
function plannedAtOf(record: Buffer | string | null | undefined, runId?: string): number | undefined {
  if (record === null || record === undefined) return undefined;
  try {
    const holder = JSON.parse(String(record)) as Partial<LockHolder>;
    if (runId !== undefined && holder.runId !== runId) return undefined;
    return typeof holder.plannedAt === 'number' ? holder.plannedAt : undefined;
  } catch {
    return undefined;
  }
}
