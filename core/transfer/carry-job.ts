import { inspectJob } from '../payload/inspect-job.js';
import { rewriteQueue } from '../payload/rewrite-queue.js';
import { decideRoute, queuedJobDestination, type RoutingPlan } from '../routing/routing-plan.js';
import { ledgerId } from './ledger-id.js';

/** A job as it will be written to the target. */
export interface CarriedJob {
  readonly id: string;
  readonly payload: Buffer;
  /** For queued jobs: the target queue. */
  readonly queue: string;
  readonly kind: 'as-is' | 'rerouted' | 'unmapped' | 'unparsable';
}

/**
 * A job claimed from `queue:listQueue`: without routing it goes to the same queue, byte for byte;
 * with routing, to its destination with the queue value spliced (unmapped jobs keep their queue).
 */
export function carryQueuedJob(payload: Buffer, listQueue: string, plan: RoutingPlan | undefined, rewriteActiveJobQueueName: boolean): CarriedJob {
  const job = inspectJob(payload);
  const id = ledgerId(payload, job);
  if (job.kind === 'unparsable') return { id, payload, queue: listQueue, kind: 'unparsable' };
  if (plan === undefined) return { id, payload, queue: listQueue, kind: 'as-is' };
  const to = queuedJobDestination(plan, listQueue, job);
  if (to === null) return { id, payload, queue: listQueue, kind: 'unmapped' };
  if (to === listQueue && job.queue === to) return { id, payload, queue: listQueue, kind: 'as-is' };
  return { id, payload: rewriteQueue(payload, job, to, { activeJobQueueName: rewriteActiveJobQueueName }), queue: to, kind: 'rerouted' };
}

/** A claimed `schedule`/`retry`/`dead` entry: the same, by its `queue` field. */
export function carryScheduledJob(member: Buffer, plan: RoutingPlan | undefined, rewriteActiveJobQueueName: boolean): Omit<CarriedJob, 'queue'> {
  const job = inspectJob(member);
  const id = ledgerId(member, job);
  if (job.kind === 'unparsable') return { id, payload: member, kind: 'unparsable' };
  if (plan === undefined) return { id, payload: member, kind: 'as-is' };
  const decision = decideRoute(plan, job);
  if (decision.action === 'unmapped') return { id, payload: member, kind: 'unmapped' };
  if (decision.action === 'already-routed') return { id, payload: member, kind: 'as-is' };
  return { id, payload: rewriteQueue(member, job, decision.to, { activeJobQueueName: rewriteActiveJobQueueName }), kind: 'rerouted' };
}
