import type { CronLeft } from '../cron/cron-left.js';
import type { RerouteCounters } from '../reroute/reroute-counters.js';
import type { TransferCounters } from '../transfer/transfer-counters.js';
import type { PlannedReplicas } from '../transfer/transfer-options.js';
import type { MovedOnSince } from './moved-on-since.js';
import type { RecordedRollback } from './recorded-rollback.js';
import type { SerializedRouting } from './stored-routing.js';
import type { WorkflowInput } from './workflow-input.js';

/** The settings every page step needs, carried from the plan step through the state machine. */
export type RunSettings = Pick<
  WorkflowInput,
  'runId' | 'mode' | 'source' | 'target' | 'dryRun' | 'pageSize' | 'rateLimit' | 'unmapped' | 'placement' | 'pagesPerInvocation' | 'maxIterations' | 'sets' | 'queues'
> & {
  /** Whether routing was stored for this run (re-routes always; transfers when asked). */
  readonly routed: boolean;
  /** A selective transfer: its classes were stored on the source (stored-selection.ts). */
  readonly selected?: true;
  /**
   * Digests of the routing and the classes this run's plan stored (stored-routing.ts): a warm
   * container that read an earlier plan of the same run id must not route by it.
   */
  readonly routingDigest?: string;
  readonly selectionDigest?: string;
  /**
   * A transfer's replica counts when planned (the most each connection of the plan saw). A page
   * retried in a new Lambda container opens connections that never saw a replica that dropped out
   * meanwhile (syncing again, not counted): it still waits for it (replica-wait.ts), rather than
   * acknowledge what only the primary has.
   */
  readonly replicas?: PlannedReplicas;
  /**
   * The replicas the operator asked each side's WAIT for (fromReplicas/toReplicas; 0: not asked):
   * a Redis behind a proxy that hides them reports none (replica-wait.ts). Absent: none asked.
   */
  readonly askedReplicas?: PlannedReplicas;
  /**
   * A transfer's target id as its plan found (or named) it (target-identity.ts). A page, and the
   * summary, that find the target without it know it lost its data since (a restart without
   * persistence, a flush, a failover to a replica that had not received it): the jobs the run
   * wrote there went with it. Absent for a dry run, and in settings planned by an older version.
   */
  readonly targetId?: string;
  /**
   * The run's started-with record carries its start (started-with.ts startedAt): its page tasks
   * give it its 30 days again (keepRunRecords), as they do the run's other records. Absent for a
   * dry run, and in settings planned by an older version: an older record's time to live is all
   * that tells when its run started, and renewing it would lose that (rollback's look for runs
   * that moved its jobs on after it, moved-on-since.ts).
   */
  readonly renewsStartedWith?: true;
  /**
   * The run's started-with record, or another key of the run, was there when this start planned
   * (started-with.ts, older-starts.ts: an earlier start wrote it): this start resumes the run, and
   * an earlier start may have left a transfer's ledger no item of this start retires (killed after
   * a pass's `DEL` and before its add-up, its queue empty since). Only then does a transfer's last
   * summary look for such ledgers (core/transfer/ledgers-left.ts): a first start's summary walks
   * the target once, no more. Absent for a dry run, for a run's first start, and in settings
   * planned by an older version.
   */
  readonly startedBefore?: true;
  /**
   * The run's list is longer than one batch: a set of more than one page runs in an execution of
   * its own (set-apart.ts), so that the next batches need not wait for it. In a list of one batch
   * nothing waits for a set but the run's end, and the hand-off would only add an execution.
   * Never with `--rate-limit` (set-apart.ts setsMayGoApart). Absent in settings planned by an older version (nothing handed on).
   */
  readonly setsApart?: true;
  /** A dry run's selected classes, carried here because a dry run writes nothing. */
  readonly inlineClasses?: readonly string[];
  /** A dry run's routing, carried here because a dry run writes nothing, not even its routing. */
  readonly inlineRouting?: SerializedRouting;
  /** A dry-run rollback's routing: which record to read it from (recorded-rollback.ts), not the moves themselves. */
  readonly recordedRollback?: RecordedRollback;
  /** A dry run's plan, told apart from another dry run of the same id (work-list.ts keeps its list by it). */
  readonly planId?: string;
  /** The plan found no Sidekiq data at all under the source's prefix (nor elsewhere): said so in the summary. */
  readonly nothingThere?: true;
  /**
   * A re-route's `--rename OLD=NEW` whose OLD had no list and was not in `queues` when planned (a
   * typo, often): only set entries naming it could move. The summary says so when none did.
   */
  readonly renamesWithoutQueue?: readonly RenameWithoutQueue[];
  /**
   * A rollback of a run whose jobs later runs moved on from where it put them (moved-on-since.ts):
   * it cannot put those back, and the summary says so, naming the runs to roll back first.
   */
  readonly movedOnSince?: MovedOnSince;
  /**
   * The sidekiq-cron definitions this run's plan was asked to carry or rewrite and left, unread or
   * unjudged (core/cron/cron-left.ts): carried by every execution of the run, so that the
   * summarize function's log line of the one that ends it never says "run complete" over them.
   * Absent when none were left, for a dry run, and in settings planned by an older version.
   */
  readonly cronLeft?: CronLeft;
  /**
   * When this execution's plan took the run's lock (epoch ms, the lock's `plannedAt`): the
   * execution's generation. Every later step of it (its continuations too) names it, and is
   * refused, or leaves the run alone, once a later start of the run planned (RunSupersededError).
   * Absent for a dry run, and in settings planned by an older version (then nothing is compared).
   */
  readonly plannedAt?: number;
  /**
   * The execution whose plan this is (its ARN, the lock's `plannedBy`), as Step Functions named it
   * to the plan task: the root execution of this run's generation. The clean-up after an execution's
   * end compares it with the lock's, which no clock can mislead. Absent when the plan was not told
   * (an older definition; a caller of planStep without it) and for a dry run.
   */
  readonly plannedBy?: string;
};

export interface RenameWithoutQueue {
  readonly from: string;
  readonly to: string;
}

/**
 * One set or queue and how far its migration is: the state that loops through "page" tasks in
 * the state machine. Small by construction (a cursor and counters, never a job).
 */
export interface WorkItem {
  readonly kind: 'set' | 'queue';
  /** A set's name, or a queue's as a lossless string (core/redis/key-name.ts: bytes that are not UTF-8 survive JSON). */
  readonly name: string;
  readonly cursor: unknown;
  /** The set's or queue's size when the run was planned, for progress. */
  readonly total?: number;
  readonly done: boolean;
  /** Loop iterations in this execution (continue-as-new when it reaches maxIterations). */
  readonly iteration: number;
  readonly counters: RerouteCounters | TransferCounters;
  /** The execution this item continues from (continue-as-new), if any. */
  readonly continues?: string;
  /**
   * Set by the page task that leaves the item at its loop cap: the name the state machine starts
   * its continuation under (continuation-name.ts), the same on every attempt at starting it.
   */
  readonly continueAs?: string;
}

/** A page step's input: the item and the run's settings. */
export interface PageInput {
  readonly settings: RunSettings;
  readonly item: WorkItem;
}

/** What the state machine records of an item when it ends. */
export interface ItemResult {
  readonly kind: 'set' | 'queue';
  readonly name: string;
  readonly counters?: RerouteCounters | TransferCounters;
  readonly done?: boolean;
  /** The execution the item continued in, when it reached the iteration cap. */
  readonly continuedIn?: string;
  /** When the item failed: the error name and message (Step Functions' Catch output). */
  readonly error?: { readonly Error?: string; readonly Cause?: string };
  /**
   * Set by the add-up (never by the state machine): the item failed after its last task had added
   * its continuation to the run's executions, which was never started (add-up-step.ts).
   */
  readonly neverStarted?: true;
}
