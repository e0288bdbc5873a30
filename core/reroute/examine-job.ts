import { inspectJob, type JobFields } from '../payload/inspect-job.js';
import { rewriteQueue } from '../payload/rewrite-queue.js';
import { decideRoute, queuedJobDestination, unmappedReason, type RoutingPlan } from '../routing/routing-plan.js';
import { routedClass } from '../routing/routed-class.js';
import type { JobSample } from './reroute-counters.js';

/** What to do with one job, decided from its bytes and the routing plan. */
export type Examined =
  | { readonly kind: 'unparsable'; readonly sample: JobSample }
  | { readonly kind: 'unmapped'; readonly routedClass: string; readonly sample: JobSample }
  | { readonly kind: 'already-routed' }
  | {
      readonly kind: 'move';
      readonly to: string;
      readonly rewritten: Buffer;
      /** The class it was routed by, and its payload's `queue` before the move (for move records). */
      readonly routedClass: string;
      readonly queue: string | null;
      /** It carries a sidekiq-unique-jobs digest, which names its old queue. */
      readonly uniqueLock: boolean;
    };

/**
 * A `schedule`/`retry`/`dead` entry: its `queue` field says where the poller (or a retry from the
 * UI) will push it, so it moves when its destination differs from that field.
 */
export function examineScheduledJob(member: Buffer, plan: RoutingPlan, rewriteActiveJobQueueName: boolean): Examined {
  const job = inspectJob(member);
  if (job.kind === 'unparsable') return { kind: 'unparsable', sample: { jid: null, className: null, reason: job.reason } };
  const decision = decideRoute(plan, job);
  if (decision.action === 'unmapped') return unmapped(job, unmappedReason(plan, job.queue, job));
  if (decision.action === 'already-routed') return { kind: 'already-routed' };
  return move(member, job, decision.to, rewriteActiveJobQueueName);
}

/**
 * A job waiting in `queue:listQueue`, a list being drained: the list it sits in decides, so it
 * moves to its destination even when its `queue` field already names it. (The rewrite then
 * changes the field's bytes only if it was missing, which inserts it, or escaped, which writes
 * it plainly.) A destination equal to the list itself means it stays.
 */
export function examineQueuedJob(payload: Buffer, listQueue: string, plan: RoutingPlan, rewriteActiveJobQueueName: boolean): Examined {
  const job = inspectJob(payload);
  if (job.kind === 'unparsable') return { kind: 'unparsable', sample: { jid: null, className: null, reason: job.reason } };
  const to = queuedJobDestination(plan, listQueue, job);
  if (to === null) return unmapped(job, unmappedReason(plan, listQueue, job));
  if (to === listQueue) return { kind: 'already-routed' };
  return move(payload, job, to, rewriteActiveJobQueueName);
}

function move(payload: Buffer, job: JobFields, to: string, rewriteActiveJobQueueName: boolean): Examined {
  const rewritten = rewriteQueue(payload, job, to, { activeJobQueueName: rewriteActiveJobQueueName });
  return { kind: 'move', to, rewritten, routedClass: routedClass(job.className, job.wrapped), queue: job.queue, uniqueLock: job.uniqueLock };
}

function unmapped(job: JobFields, reason: string): Examined {
  const cls = routedClass(job.className, job.wrapped);
  return { kind: 'unmapped', routedClass: cls, sample: { jid: job.jid, className: cls, reason } };
}
