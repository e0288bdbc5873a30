import { routedClass } from './routed-class.js';

/**
 * Where jobs go, in one of three forms. The migrators only ever ask this object two questions:
 * "is this queue one we drain?" and "where does this job belong?".
 *
 * - `classes`: worker class → queue, from GitLab routing rules over a catalog, or from an
 *   explicit mapping file for applications that are not GitLab.
 * - `renames`: old queue → new queue, whatever the class.
 */
export type RoutingPlan = ClassRoutingPlan | RenameRoutingPlan;

export interface ClassRoutingPlan {
  readonly kind: 'classes';
  readonly mapping: ReadonlyMap<string, string>;
  /** The distinct destinations: GitLab's "already correct" queues, never drained. */
  readonly destinations: ReadonlySet<string>;
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

export function classRoutingPlan(mapping: ReadonlyMap<string, string>): ClassRoutingPlan {
  return { kind: 'classes', mapping, destinations: new Set(mapping.values()) };
}

export function renameRoutingPlan(renames: ReadonlyMap<string, string>): RenameRoutingPlan {
  return { kind: 'renames', renames };
}

/** Where one job belongs. A job whose class (or queue, for renames) is unknown is `unmapped`. */
export function decideRoute(plan: RoutingPlan, job: JobRoutingFields): RoutingDecision {
  if (plan.kind === 'renames') {
    const to = job.queue === null ? undefined : plan.renames.get(job.queue);
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
  return plan.kind === 'renames' ? plan.renames.has(queue) : !plan.destinations.has(queue);
}

/**
 * Where a job waiting in the drained list `queue:listQueue` goes. List membership decides, not the
 * payload's `queue` field (GitLab moves every job of a drained list): with class routing, the
 * destination of its class; with renames, the new name of the list. Null when its class is unknown.
 */
export function queuedJobDestination(plan: RoutingPlan, listQueue: string, job: JobRoutingFields): string | null {
  if (plan.kind === 'renames') return plan.renames.get(listQueue) ?? null;
  if (job.className === null) return null;
  return plan.mapping.get(routedClass(job.className, job.wrapped)) ?? null;
}
