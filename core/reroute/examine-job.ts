import { inspectJobRoute, jobJid, type JobRouteFields } from '../payload/inspect-job.js';
import { moveShape, restoreFromMove, type MoveShape } from '../payload/move-shape.js';
import { queueRewrite, type Splice } from '../payload/rewrite-queue.js';
import { moveShapes } from '../routing/reverse-plan.js';
import { decideRoute, queuedJobDestination, unmappedReason, type RoutingPlan } from '../routing/routing-plan.js';
import { routedClass } from '../routing/routed-class.js';
import type { JobSample } from './reroute-counters.js';

/**
 * What to do with one job, decided from its bytes and the routing plan. `R`: how a move's rewrite
 * is held, a Buffer, or (asked for by the re-route's pages, `spliced`) a Splice that the RESP
 * encoding writes straight into its Lua call (rewrite-queue.ts).
 */
export type Examined<R extends Buffer | Splice = Buffer> =
  | { readonly kind: 'unparsable'; readonly sample: JobSample }
  | {
      readonly kind: 'unmapped';
      readonly routedClass: string;
      readonly sample: JobSample;
      /** Its payload's `queue` (null: none): where a set entry left in place goes when due, Sidekiq's `default` for none. */
      readonly queue: string | null;
    }
  | { readonly kind: 'already-routed' }
  | {
      readonly kind: 'move';
      readonly to: string;
      readonly rewritten: R;
      /** The class it was routed by, and its payload's `queue` before the move (for move records). */
      readonly routedClass: string;
      readonly queue: string | null;
      /** What the rewrite replaced beyond the names, recorded so that a rollback gives back these bytes. */
      readonly shape: MoveShape;
      /** It carries a sidekiq-unique-jobs digest, which names its old queue. */
      readonly uniqueLock: boolean;
    };

/**
 * A `schedule`/`retry`/`dead` entry: its `queue` field says where the poller (or a retry from the
 * UI) will push it, so it moves when its destination differs from that field.
 */
export function examineScheduledJob(member: Buffer, plan: RoutingPlan, rewriteActiveJobQueueName: boolean): Examined;
export function examineScheduledJob(member: Buffer, plan: RoutingPlan, rewriteActiveJobQueueName: boolean, spliced: true): Examined<Buffer | Splice>;
export function examineScheduledJob(member: Buffer, plan: RoutingPlan, rewriteActiveJobQueueName: boolean, spliced = false): Examined<Buffer | Splice> {
  const job = inspectJobRoute(member);
  if (job.kind === 'unparsable') return { kind: 'unparsable', sample: { jid: null, className: null, reason: job.reason } };
  const decision = decideRoute(plan, job);
  if (decision.action === 'unmapped') return unmapped(member, job, unmappedReason(plan, job.queue, job));
  if (decision.action === 'already-routed') return { kind: 'already-routed' };
  return move(member, job, plan, job.queue, decision.to, rewriteActiveJobQueueName, spliced);
}

/**
 * A job waiting in `queue:listQueue`, a list being drained: the list it sits in decides, so it
 * moves to its destination even when its `queue` field already names it. (The rewrite then
 * changes the field's bytes only if it was missing, which inserts it, or escaped, which writes
 * it plainly.) A destination equal to the list itself means it stays.
 */
export function examineQueuedJob(payload: Buffer, listQueue: string, plan: RoutingPlan, rewriteActiveJobQueueName: boolean): Examined;
export function examineQueuedJob(payload: Buffer, listQueue: string, plan: RoutingPlan, rewriteActiveJobQueueName: boolean, spliced: true): Examined<Buffer | Splice>;
export function examineQueuedJob(payload: Buffer, listQueue: string, plan: RoutingPlan, rewriteActiveJobQueueName: boolean, spliced = false): Examined<Buffer | Splice> {
  const job = inspectJobRoute(payload);
  if (job.kind === 'unparsable') return { kind: 'unparsable', sample: { jid: null, className: null, reason: job.reason } };
  const to = queuedJobDestination(plan, listQueue, job);
  if (to === null) return unmapped(payload, job, unmappedReason(plan, listQueue, job));
  if (to === listQueue) return { kind: 'already-routed' };
  return move(payload, job, plan, listQueue, to, rewriteActiveJobQueueName, spliced);
}

/**
 * `from` is the queue the job is recorded as coming from: a set entry's `queue`, a queued job's
 * list. A rollback gives back the bytes the rolled-back run had rewritten (move-shape.ts), not a
 * rewrite by name, which would also change a `queue_name` that run never touched; when its
 * record allows several originals, the job stays where it is (unmapped, with the reason).
 */
function move(payload: Buffer, job: JobRouteFields, plan: RoutingPlan, from: string | null, to: string, rewriteActiveJobQueueName: boolean, spliced: boolean): Examined<Buffer | Splice> {
  const opts = { activeJobQueueName: rewriteActiveJobQueueName };
  const cls = routedClass(job.className, job.wrapped);
  let rewritten: Buffer | Splice | null;
  if (plan.kind === 'reverse' && from !== null) {
    rewritten = restoreFromMove(payload, job, to, from, moveShapes(plan, cls, from));
    if (rewritten === null) {
      const reason = `run ${plan.of} moved jobs of this class here whose bytes differed beyond their queue (its spelling, a missing queue, or queue_name): cannot tell which of them this one had`;
      return { kind: 'unmapped', routedClass: cls, sample: { jid: jobJid(payload, job), className: cls, reason }, queue: job.queue };
    }
  } else {
    const splice = queueRewrite(payload, job, to, opts);
    rewritten = spliced ? splice : splice.toBuffer();
  }
  return { kind: 'move', to, rewritten, routedClass: cls, queue: job.queue, shape: moveShape(payload, job, from, to, opts), uniqueLock: job.uniqueLock };
}

function unmapped(payload: Buffer, job: JobRouteFields, reason: string): Examined {
  const cls = routedClass(job.className, job.wrapped);
  return { kind: 'unmapped', routedClass: cls, sample: { jid: jobJid(payload, job), className: cls, reason }, queue: job.queue };
}
