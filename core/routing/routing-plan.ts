import { routedClass } from './routed-class.js';
import { routeBack, type ReverseRoutingPlan } from './reverse-plan.js';

/**
 * Where jobs go, in one of three forms. The migrators only ever ask this object two questions:
 * "is this queue one we drain?" and "where does this job belong?".
 *
 * - `classes`: worker class → queue, from GitLab routing rules over a catalog, or from an
 *   explicit mapping file for applications that are not GitLab.
 * - `renames`: old queue → new queue, whatever the class.
 * - `reverse`: a rollback, (class, queue) → the queue an earlier run moved such jobs from
 *   (reverse-plan.ts); jobs that run never moved are left alone.
 */
export type RoutingPlan = ClassRoutingPlan | RenameRoutingPlan | ReverseRoutingPlan;

/** The queue Sidekiq's client gives a job whose payload names none (sidekiq-reference: `Client.push` defaults). */
export const SIDEKIQ_DEFAULT_QUEUE = 'default';

export interface ClassRoutingPlan {
  readonly kind: 'classes';
  readonly mapping: ReadonlyMap<string, string>;
  /** The distinct destinations: GitLab's "already correct" queues, never drained. */
  readonly destinations: ReadonlySet<string>;
  /**
   * Queues something still routes to although they may be drained (GitLab: `mailers`, `default`,
   * every queue a rule names, every queue a process must listen to): jobs on them with no
   * destination are never quarantined, because their listeners still run them.
   */
  readonly liveQueues: ReadonlySet<string>;
}

export interface RenameRoutingPlan {
  readonly kind: 'renames';
  readonly renames: ReadonlyMap<string, string>;
}

export type RoutingDecision =
  | { readonly action: 'move'; readonly to: string }
  | { readonly action: 'already-routed' }
  | { readonly action: 'unmapped' };

/** What the migrators know of a job without touching its bytes. */
export interface JobRoutingFields {
  readonly className: string | null;
  readonly wrapped: string | null;
  readonly queue: string | null;
}

export function classRoutingPlan(mapping: ReadonlyMap<string, string>, liveQueues: Iterable<string> = []): ClassRoutingPlan {
  const destinations = new Set(mapping.values());
  return { kind: 'classes', mapping, destinations, liveQueues: new Set([...destinations, ...liveQueues]) };
}

/**
 * Whether `queue` is still live: unmapped jobs on it stay, even with `--unmapped quarantine`.
 * A rollback takes jobs only from queues its run moved jobs to, which the rules may still route
 * to and workers still fetch from: all of them are live (jobs it cannot place stay). Renamed
 * queues are retired by the rename itself.
 */
export function isLiveQueue(plan: RoutingPlan, queue: string): boolean {
  if (plan.kind === 'reverse') return true;
  return plan.kind === 'classes' && plan.liveQueues.has(queue);
}

export function renameRoutingPlan(renames: ReadonlyMap<string, string>): RenameRoutingPlan {
  return { kind: 'renames', renames };
}

/** Where one job belongs. A job whose class (or queue, for renames) is unknown is `unmapped`. */
export function decideRoute(plan: RoutingPlan, job: JobRoutingFields): RoutingDecision {
  if (plan.kind === 'reverse') {
    // A job the rolled-back run did not move (no record for its class and queue) stays as it is.
    if (job.className === null || job.queue === null) return { action: 'already-routed' };
    const back = routeBack(plan, routedClass(job.className, job.wrapped), job.queue);
    if (back === undefined) return { action: 'already-routed' };
    if (typeof back !== 'string') return { action: 'unmapped' };
    return back === job.queue ? { action: 'already-routed' } : { action: 'move', to: back };
  }
  if (plan.kind === 'renames') {
    // A payload without `queue` is a `default` job: Sidekiq's client merges in "default" when the
    // poller (or a retry from the UI) pushes it, so renaming `default` must move it too.
    const to = plan.renames.get(job.queue ?? SIDEKIQ_DEFAULT_QUEUE);
    return to === undefined ? { action: 'already-routed' } : { action: 'move', to };
  }
  if (job.className === null) return { action: 'unmapped' };
  const to = plan.mapping.get(routedClass(job.className, job.wrapped));
  if (to === undefined) return { action: 'unmapped' };
  return to === job.queue ? { action: 'already-routed' } : { action: 'move', to };
}

/**
 * Whether the jobs queued in `queue:NAME` are to be moved: GitLab drains every list that is not a
 * routing destination; with renames, exactly the renamed queues are drained.
 */
export function isDrainedQueue(plan: RoutingPlan, queue: string): boolean {
  if (plan.kind === 'reverse') return plan.drained.has(queue);
  return plan.kind === 'renames' ? plan.renames.has(queue) : !plan.destinations.has(queue);
}

/**
 * Where a job waiting in the drained list `queue:listQueue` goes. List membership decides, not the
 * payload's `queue` field (GitLab moves every job of a drained list): with class routing, the
 * destination of its class; with renames, the new name of the list; with a rollback, where the
 * rolled-back run took it from. Null when its class is unknown (or, in a rollback, unrestorable).
 */
export function queuedJobDestination(plan: RoutingPlan, listQueue: string, job: JobRoutingFields): string | null {
  if (plan.kind === 'reverse') {
    // No record: the list's own job, which stays (returning the list itself means "stays").
    const back = job.className === null ? undefined : routeBack(plan, routedClass(job.className, job.wrapped), listQueue);
    return back === undefined ? listQueue : typeof back === 'string' ? back : null;
  }
  if (plan.kind === 'renames') return plan.renames.get(listQueue) ?? null;
  if (job.className === null) return null;
  return plan.mapping.get(routedClass(job.className, job.wrapped)) ?? null;
}

/**
 * Why a job the plan calls unmapped is left in place, for the report's samples: computed only for
 * those jobs. `queue` is the list it waits in, or the entry's `queue` field.
 */
export function unmappedReason(plan: RoutingPlan, queue: string | null, job: JobRoutingFields): string {
  if (plan.kind === 'reverse' && job.className !== null && queue !== null) {
    const back = routeBack(plan, routedClass(job.className, job.wrapped), queue);
    if (back !== undefined && typeof back !== 'string') return back.unrestorable;
  }
  return 'no destination for its class';
}
