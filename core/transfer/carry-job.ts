import { inspectJob, jobVerdict } from '../payload/inspect-job.js';
import { rewriteQueue } from '../payload/rewrite-queue.js';
import { decideRoute, queuedJobDestination, type RoutingPlan } from '../routing/routing-plan.js';
import { setEntryId } from './ledger-id.js';
import type { ClaimedEntry } from './claim-calls.js';
import type { LedgeredEntry } from './write-to-target.js';

/**
 * A job as it will be written to the target (its ledger id is the caller's: see ledger-id.ts).
 * Every carried job is built with the same fields in the same order (uniqueLock undefined unless
 * rerouted), and the ledgered ones below too: one object shape per kind of slice, which V8's
 * optimised code handles without the deoptimisations and recompiles mixed shapes caused (issue
 * #18: compiling was a fifth of a `move`'s CPU).
 */
export interface CarriedJob {
  readonly payload: Buffer;
  /** For queued jobs: the target queue. */
  readonly queue: string;
  readonly kind: 'as-is' | 'rerouted' | 'unmapped' | 'unparsable';
  /** Rerouted and carrying a sidekiq-unique-jobs digest, which names its old queue. */
  readonly uniqueLock?: boolean;
}

/**
 * A job claimed from `queue:listQueue`: without routing it goes to the same queue, byte for byte;
 * with routing, to its destination with the queue value spliced (unmapped jobs keep their queue).
 */
export function carryQueuedJob(payload: Buffer, listQueue: string, plan: RoutingPlan | undefined, rewriteActiveJobQueueName: boolean): CarriedJob {
  // Without routing only "is it a job" counts: checked without decoding its fields.
  if (plan === undefined) return carried(payload, listQueue, jobVerdict(payload) !== null ? 'unparsable' : 'as-is');
  const job = inspectJob(payload);
  if (job.kind === 'unparsable') return carried(payload, listQueue, 'unparsable');
  const to = queuedJobDestination(plan, listQueue, job);
  // Renames route by queue, not class: a queue that is not renamed keeps its jobs as they are
  // (as a set entry naming it does), which is no class without a destination.
  if (to === null) return carried(payload, listQueue, plan.kind === 'renames' ? 'as-is' : 'unmapped');
  if (to === listQueue && job.queue === to) return carried(payload, listQueue, 'as-is');
  return carried(rewriteQueue(payload, job, to, { activeJobQueueName: rewriteActiveJobQueueName }), to, 'rerouted', job.uniqueLock);
}

/** A claimed `schedule`/`retry`/`dead` entry: the same, by its `queue` field. */
export function carryScheduledJob(member: Buffer, plan: RoutingPlan | undefined, rewriteActiveJobQueueName: boolean): Omit<CarriedJob, 'queue'> {
  if (plan === undefined) return carriedEntry(member, jobVerdict(member) !== null ? 'unparsable' : 'as-is');
  const job = inspectJob(member);
  if (job.kind === 'unparsable') return carriedEntry(member, 'unparsable');
  const decision = decideRoute(plan, job);
  if (decision.action === 'unmapped') return carriedEntry(member, 'unmapped');
  if (decision.action === 'already-routed') return carriedEntry(member, 'as-is');
  return carriedEntry(rewriteQueue(member, job, decision.to, { activeJobQueueName: rewriteActiveJobQueueName }), 'rerouted', job.uniqueLock);
}

function carried(payload: Buffer, queue: string, kind: CarriedJob['kind'], uniqueLock?: boolean): CarriedJob {
  return { payload, queue, kind, uniqueLock };
}

function carriedEntry(payload: Buffer, kind: CarriedJob['kind'], uniqueLock?: boolean): Omit<CarriedJob, 'queue'> {
  return { payload, kind, uniqueLock };
}

/** A set entry as it is written, and what carrying it found. */
export type CarriedEntry = LedgeredEntry & Omit<CarriedJob, 'queue'>;

/**
 * A queue batch's jobs as they are written: each carried to its queue, in claim order (their
 * positions in the batch are the ledger's: write-to-target.ts BatchPosition).
 */
export function carryQueuedJobs(held: readonly Buffer[], listQueue: string, plan: RoutingPlan | undefined, rewriteActiveJobQueueName: boolean): CarriedJob[] {
  const jobs: CarriedJob[] = new Array(held.length);
  for (let i = 0; i < held.length; i++) jobs[i] = carryQueuedJob(held[i]!, listQueue, plan, rewriteActiveJobQueueName);
  return jobs;
}

/**
 * A set batch's entries as they are written: each carried, with its ledger id (ledger-id.ts
 * `setEntryId`) and its score as claimed (as Redis prints it).
 */
export function ledgerScheduledEntries(held: readonly ClaimedEntry[], batchId: string, plan: RoutingPlan | undefined, rewriteActiveJobQueueName: boolean): CarriedEntry[] {
  const entries: CarriedEntry[] = new Array(held.length);
  for (let i = 0; i < held.length; i++) {
    const { member, score } = held[i]!;
    const c = carryScheduledJob(member, plan, rewriteActiveJobQueueName);
    entries[i] = { payload: c.payload, kind: c.kind, uniqueLock: c.uniqueLock, member, id: setEntryId(batchId, member), score };
  }
  return entries;
}
