import type { KeyspaceCut } from '../redis/bounded-scan.js';
import type { SortedSetName } from '../redis/sidekiq-keys.js';
import type { OtherPrefix } from '../redis/sidekiq-prefixes.js';
import type { InflightLeftover } from '../transfer/resume-inflight.js';
import type { FetcherList } from './fetcher-lists.js';
import type { MoveTargetState } from './move-target.js';
import type { QuarantineList } from './quarantine-lists.js';
import type { RunningJobs } from './running-jobs.js';

/** A sidekiq-cron definition (core/cron/cron-definitions.ts) and who would fetch what it pushes. */
export interface CronState {
  readonly name: string;
  readonly key: string;
  /** Where it pushes, or null when not known (`queueUnknown` says why). */
  readonly queue: string | null;
  /**
   * Why `queue` is not known: a message that is not a job this tool reads, or no message and no
   * `queue` field (sidekiq-cron then pushes to the class's own queue, which only the app knows).
   * With retired queues, an enabled one is never a verdict of drained. Absent when known (and in older reports).
   */
  readonly queueUnknown?: string;
  readonly enabled: boolean;
  /** Live processes fetching from `queue`. */
  readonly listeners: number;
  /**
   * Of `listeners`, those not heard from for more than SILENT_BEATS beats (they may have been
   * killed; the census counts them live until their heartbeat expires). Absent when none.
   */
  readonly silentListeners?: number;
}

export interface QueueState {
  readonly queue: string;
  readonly depth: number;
  /** Seconds since the oldest waiting job was enqueued (from its `enqueued_at`), when known. */
  readonly oldestAgeSeconds: number | null;
  /** Live, not quiet, Sidekiq processes fetching from this queue. */
  readonly listeners: number;
  /**
   * Of `listeners`, those not heard from for more than SILENT_BEATS beats (they may have been
   * killed; the census counts them live until their heartbeat expires): `listeners -
   * silentListeners` beat. Absent when none (and in reports of older versions), as CronState's.
   */
  readonly silentListeners?: number;
  /** With a previous check: jobs enqueued here since then (≥, when more than we sampled). */
  readonly arrivedSinceLastCheck?: number;
}

export interface SetState {
  readonly total: number;
  /** Entries already due: the poller enqueues them within seconds (dead entries never come due: 0). */
  readonly dueNow: number;
  /** Entries that come due within the next hour, those already due included. */
  readonly dueWithinHour: number;
  /** When the last entry comes due (epoch seconds), or null for an empty set or `dead`. */
  readonly lastDueAt: number | null;
  /**
   * Entries whose `queue` has no live listener: they will land where nobody fetches. Unparsable
   * entries count here too (their queue cannot be read, so nobody is known to fetch it), and so
   * does a re-route's conflict original (an entry like any other, by the queue it names).
   */
  readonly orphaned: number;
  /**
   * Of `orphaned`, the unparsable entries (no queue can be read from them): no listener ever runs
   * them, Sidekiq's poller drops them when due. Absent when there are none, and in reports of older versions.
   */
  readonly unparsable?: number;
  /** Entries whose `queue` is one of the retired queues (routing-rule case; 0 otherwise). */
  readonly toRetiredQueues: number;
  /**
   * True when the set held more entries than a check counts (`countLimit`): `orphaned` and
   * `toRetiredQueues` were then extrapolated from those counted, and the verdict is never
   * `drained`. False: both are exact counts.
   */
  readonly orphanedEstimated: boolean;
  /** Estimated because the check's time for reading set entries ran out (not its count limit): how many it read. */
  readonly readBeforeTimeRanOut?: number;
}

export type DrainState = 'drained' | 'draining' | 'stuck';

/** What a drain check found on one Redis. Small and JSON-serialisable: it is also `--previous`. */
export interface DrainReport {
  /** Epoch seconds. */
  readonly checkedAt: number;
  readonly redis: string;
  /** The key prefix the check looked under ('' for none; absent in reports of older versions). */
  readonly prefix?: string;
  /**
   * The look for Sidekiq data (checkSidekiqPrefixLook) found none, under any prefix or in another
   * database: an empty Redis, or not the one meant (a wrong port). "DRAINED" alone read as the
   * go-ahead to retire the Redis the operator meant.
   */
  readonly noSidekiqData?: true;
  readonly processes: { readonly live: number; readonly quiet: number; readonly stale: number };
  readonly queues: readonly QueueState[];
  readonly sets: Readonly<Record<SortedSetName, SetState>>;
  /** Jobs nobody will ever run as things stand. */
  readonly orphans: { readonly queued: number; readonly scheduled: number; readonly total: number; readonly queues: readonly string[] };
  /**
   * Jobs on queues only live Sidekiq processes not heard from for more than SILENT_BEATS beats
   * listen to (they may have been killed; the census counts them live until their heartbeat
   * expires): not orphans for certain, so counted in `remaining` and not in `orphans`, but said
   * apart. The first 10 queues, most jobs first; `silentSeconds`: how long the least silent of
   * their listeners has not been heard from. Absent when none (and in older reports).
   */
  readonly heardOnlyBySilent?: { readonly jobs: number; readonly total: number; readonly queues: readonly { readonly queue: string; readonly depth: number }[]; readonly silentSeconds: number };
  /**
   * Schedule and retry entries naming queues only live Sidekiq processes not heard from for more
   * than SILENT_BEATS beats listen to (as heardOnlyBySilent, for set entries): not counted in
   * `orphans` (a hung process may beat again), but said apart. `atLeast`: a set was read in part,
   * so `entries` counts those read. The first 10 queues, most entries first. Absent when none.
   */
  readonly setEntriesHeardOnlyBySilent?: {
    readonly entries: number;
    readonly atLeast?: true;
    readonly total: number;
    readonly queues: readonly { readonly queue: string; readonly entries: number }[];
    readonly silentSeconds: number;
  };
  /** Jobs claimed by interrupted transfers and not yet written to the target. */
  readonly inflight: readonly InflightLeftover[];
  /**
   * Non-empty quarantine lists (`--unmapped quarantine`): jobs nobody will run, which no transfer
   * carries. Absent in reports of older versions.
   */
  readonly quarantine?: readonly QuarantineList[];
  /**
   * Non-empty private lists of fetchers (GitLab's reliable fetcher, Sidekiq Pro's super_fetch):
   * jobs workers took and did not finish, which go back to their queue on this Redis if the
   * worker dies. With retired queues, only theirs. Absent in reports of older versions.
   */
  readonly fetched?: readonly FetcherList[];
  /**
   * Jobs live processes' heartbeats say they run, taken from the queues in scope, that are in no
   * private list (Sidekiq's own fetch holds them in memory only): running-jobs.ts. In `remaining`.
   * Absent when none (and in older reports).
   */
  readonly running?: RunningJobs;
  /**
   * Live processes (their heartbeat hash still there: counted live) not heard from for more than
   * SILENT_BEATS beats (live-processes.ts: `silentSeconds`, by both the beat and the hash's expiry)
   * that hold jobs counted here: the keys and sizes of their fetchers' private lists of the scope,
   * and how many jobs in no list their heartbeat says they run (`running`, in `running.silentJobs`).
   * A SIGKILLed process's heartbeat lives 60 s after its last beat: these may have been killed, and
   * what they hold is then worked on by nobody (redis-move.md step 6.1). The first 10, longest
   * silent first (the verdict says the jobs of the others in one line, from `fetched` and
   * `running.silentJobs`). Absent when none (and in older reports).
   */
  readonly notHeardFrom?: readonly {
    readonly identity: string;
    readonly silentSeconds: number;
    readonly beatEverySeconds: number;
    readonly lists: readonly { readonly key: string; readonly size: number }[];
    readonly running: number;
  }[];
  /**
   * A check that found nothing left while live Sidekiq processes of its scope ran: it waited for
   * each to beat twice (await-beats.ts), then read their heartbeats and the places it found empty
   * again (confirm-drained.ts). A job one fetched less than a beat before is in no list and not yet
   * in its heartbeat: without the wait the check said drained over it. `unconfirmed`: processes
   * that had not beaten twice in the check's time (`late`), that stopped meanwhile (`stopped`), or
   * that appeared meanwhile (`appeared`), the first RUNNING_NAMED of each (with how many in all):
   * never `drained` then. Absent when no live process of the scope ran (and in older reports).
   */
  readonly beatWait?: {
    readonly processes: number;
    readonly waitedSeconds: number;
    readonly unconfirmed?: {
      readonly late: readonly string[];
      readonly stopped: readonly string[];
      readonly appeared: readonly string[];
      readonly count: number;
      /**
       * Processes not waited for: not heard from for more than SILENT_BEATS beats (they may have
       * been killed, and never beat again), the first 10; in `count`. Absent when none (and in older reports).
       */
      readonly silent?: readonly { readonly identity: string; readonly silentSeconds: number; readonly beatEverySeconds: number; readonly heartbeatExpiresInSeconds: number }[];
    };
  };
  /**
   * What must reach zero: queued + schedule + retry + in flight + quarantined + taken by workers
   * (fetchers' private lists) + running in no list; with retired queues (the routing-rule case),
   * only their jobs and the set entries that name them, in flight, quarantined, taken and running.
   */
  readonly remaining: number;
  /**
   * Jobs the check counted nowhere while it read key after key, found when it looked at every key
   * again at once (one-look.ts): Sidekiq moved them meanwhile from a key not yet read to one
   * already read. In `remaining`; never `drained` then. Absent when none (and in older reports).
   */
  readonly movedDuringCheck?: number;
  /** The part of `remaining` that can run now (queued, and due entries), which must shrink. */
  readonly readyNow: number;
  /**
   * sidekiq-cron definitions on this Redis (absent in reports of older versions). Cron pushes a
   * job to each enabled one's queue on schedule, as long as a Sidekiq process runs against it.
   */
  readonly cron?: readonly CronState[];
  /** sidekiq-cron definitions beyond the ones read (MAX_CRON_DEFINITIONS): with retired queues, never a verdict of drained. */
  readonly cronUnread?: number;
  /**
   * Sidekiq data under other prefixes of this Redis, with its jobs (absent in older reports), those
   * of them in our in-flight and quarantine keys (`held`: no Sidekiq runs them), those in `dead`
   * and `interrupted` (`dormant`: never run by themselves, as here), those in reliable-fetch
   * working lists (`taken`: no move carries them) and, where it holds jobs, its live Sidekiq
   * processes: with none, nobody runs the rest.
   */
  readonly otherPrefixes?: readonly OtherPrefix[];
  /** The Redis's `maxmemory-policy` (null: not reported); anything but noeviction is warned about. */
  readonly maxmemoryPolicy?: string | null;
  /** The retired queues the check was scoped to, if any. */
  readonly retiredQueues?: readonly string[];
  /**
   * The looks over the whole keyspace (KEYSPACE_LOOKS: for any Sidekiq data under the prefix, the
   * deployed check's first; for queue lists the `queues` set does not name; in-flight keys and
   * quarantine lists; workers' private lists; sidekiq-cron namespaces)
   * that the check's time stopped before the end (DrainCheckOptions.lookUntil), and about how far
   * the shortest of them got: `queues` (but for those the `queues` set names), `inflight`,
   * `quarantine`, `fetched` and `cron` (but for `cron_jobs` and `cron_jobs:default`) are then what
   * they found, not all there is, and the verdict is never `drained`. Absent when every look
   * reached the end (and in older reports).
   */
  readonly keyspaceLookCutShort?: KeyspaceCut & { readonly looks: readonly string[]; /** How to give the check more time (DrainCheckOptions.moreTime). */ readonly moreTime?: string };
  /**
   * The look for workers' private lists stopped at its limit (FETCHER_LIST_LIMIT): `read` lists
   * found (of any queue, before a scope keeps its own). There may be more, so `fetched`, its jobs
   * and `remaining` are a floor, and the verdict is never `drained`. Absent when it was not (and
   * in older reports).
   */
  readonly fetchedListsCutShort?: { readonly read: number; readonly limit: number };
  /**
   * The check's time for reading the queues ran out (DrainCheckOptions.readQueuesUntil) after
   * `read` of the `queues` queues it found: the first of those it did not read, in the order it
   * reads them (UNREAD_QUEUES_NAMED at most; `queues − read` in all). Their jobs are in no count:
   * `remaining` and the orphans are a floor, and the verdict is never `drained`. Absent when every
   * queue was read (and in older reports).
   */
  readonly queuesCutShort?: { readonly read: number; readonly queues: number; readonly unread: readonly string[] };
  /** How to give the check more time, when its time for reading the queues or set entries ran out (DrainCheckOptions.moreTime). */
  readonly moreTime?: string;
  /**
   * The check was given a move out of this Redis (its run id and target): what it saw of that
   * target's id (move-target.ts). Lost: the verdict is `stuck`, never `drained`. Absent otherwise
   * (and in older reports).
   */
  readonly moveTarget?: MoveTargetState;
  readonly verdict: {
    readonly state: DrainState;
    readonly reasons: readonly string[];
    /** Jobs per second by which `remaining` fell since the previous check. */
    readonly ratePerSecond?: number;
    readonly etaSeconds?: number;
  };
}

/**
 * The looks over the keyspace, as DrainReport.keyspaceLookCutShort names them: what each did not
 * confirm when cut short is worded by judge-drain.ts.
 */
export const KEYSPACE_LOOKS = {
  data: ['Sidekiq data under this prefix'],
  queues: ['queue lists not in the `queues` set'],
  leftovers: ['in-flight keys', 'quarantine lists'],
  fetched: ["workers' private lists"],
  cron: ['sidekiq-cron namespaces other than default'],
  otherPrefixes: ["other prefixes' queue lists, working lists and in-flight keys"],
} as const;
