import { checkJob, inspectJob } from '../payload/inspect-job.js';
import { rewriteQueue } from '../payload/rewrite-queue.js';
import { decideRoute, queuedJobDestination, type RoutingPlan } from '../routing/routing-plan.js';

/** A job as it will be written to the target (its ledger id is the caller's: see ledger-id.ts). */
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
  if (plan === undefined) return { payload, queue: listQueue, kind: typeof checkJob(payload) === 'string' ? 'unparsable' : 'as-is' };
  const job = inspectJob(payload);
  if (job.kind === 'unparsable') return { payload, queue: listQueue, kind: 'unparsable' };
  const to = queuedJobDestination(plan, listQueue, job);
  if (to === null) return { payload, queue: listQueue, kind: 'unmapped' };
  if (to === listQueue && job.queue === to) return { payload, queue: listQueue, kind: 'as-is' };
  return { payload: rewriteQueue(payload, job, to, { activeJobQueueName: rewriteActiveJobQueueName }), queue: to, kind: 'rerouted', uniqueLock: job.uniqueLock };
}

/** A claimed `schedule`/`retry`/`dead` entry: the same, by its `queue` field. */
export function carryScheduledJob(member: Buffer, plan: RoutingPlan | undefined, rewriteActiveJobQueueName: boolean): Omit<CarriedJob, 'queue'> {
  if (plan === undefined) return { payload: member, kind: typeof checkJob(member) === 'string' ? 'unparsable' : 'as-is' };
  const job = inspectJob(member);
  if (job.kind === 'unparsable') return { payload: member, kind: 'unparsable' };
  const decision = decideRoute(plan, job);
  if (decision.action === 'unmapped') return { payload: member, kind: 'unmapped' };
  if (decision.action === 'already-routed') return { payload: member, kind: 'as-is' };
  return { payload: rewriteQueue(member, job, decision.to, { activeJobQueueName: rewriteActiveJobQueueName }), kind: 'rerouted', uniqueLock: job.uniqueLock };
}
