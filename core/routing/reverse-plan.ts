import { unencodableQueueName } from '../payload/encode-json-string.js';
import { PLAIN_SHAPE, shapeKey, type MoveShape } from '../payload/move-shape.js';
import { displayName, isPlainName } from '../redis/key-name.js';
/**
 * The routing that puts a finished re-route run's jobs back where they were, built from the moves
 * that run recorded (core/reroute/move-record.ts): for each routed class, the queue it moved
 * jobs *to* maps back to the queue it moved them *from*.
 */

/**
 * One kind of move a run made: jobs of `routedClass` went from queue
 * `from` to queue `to`. `from` is null for a set entry that had no `queue` field: where it was
 * before is unknown, so it cannot be put back.
 */
export interface RecordedMove {
  readonly routedClass: string;
  readonly from: string | null;
  readonly to: string;
  /** What the rewrite replaced beyond the names (move-shape.ts); absent for the usual job. */
  readonly shape?: MoveShape;
}

/** A (class, queue) whose jobs cannot be put back, and why (for the report's samples). */
export interface Unrestorable {
  readonly unrestorable: string;
}

export interface ReverseRoutingPlan {
  readonly kind: 'reverse';
  /** The run being rolled back. */
  readonly of: string;
  /** What it recorded, kept so that the plan can be stored and rebuilt as it is. */
  readonly moves: readonly RecordedMove[];
  /** `class\0queue` → the queue those jobs came from, or why they cannot go back. */
  readonly back: ReadonlyMap<string, string | Unrestorable>;
  /** Every queue the run moved jobs to: the lists a rollback drains. */
  readonly drained: ReadonlySet<string>;
  /** `class\0queue` → the distinct shapes of the moves there, to give back the exact bytes. */
  readonly shapes: ReadonlyMap<string, readonly MoveShape[]>;
}

const pairKey = (routedClass: string, queue: string): string => `${routedClass}\0${queue}`;

/**
 * The reverse of a run's moves. A (class, destination) the run filled from several queues (e.g.
 * retry entries of one class that named different queues) cannot be put back by class alone: it
 * is unrestorable, its jobs stay where they are and are counted as unmapped.
 */
export function reverseRoutingPlan(of: string, moves: readonly RecordedMove[]): ReverseRoutingPlan {
  const froms = new Map<string, Set<string | null>>();
  const shapes = new Map<string, Map<string, MoveShape>>();
  for (const move of moves) {
    const key = pairKey(move.routedClass, move.to);
    const seen = froms.get(key) ?? new Set();
    seen.add(move.from);
    froms.set(key, seen);
    const shape = move.shape ?? PLAIN_SHAPE;
    const byKey = shapes.get(key) ?? new Map<string, MoveShape>();
    byKey.set(shapeKey(shape), shape);
    shapes.set(key, byKey);
  }
  const back = new Map<string, string | Unrestorable>();
  for (const [key, seen] of froms) {
    const [only] = seen;
    if (seen.size === 1 && only !== null && only !== undefined && isPlainName(only) && unencodableQueueName(only) === null) back.set(key, only);
    else back.set(key, { unrestorable: unrestorableReason(of, [...seen]) });
  }
  const shapeLists = new Map([...shapes].map(([key, byKey]) => [key, [...byKey.values()]]));
  return { kind: 'reverse', of, moves, back, drained: new Set(moves.map((m) => m.to)), shapes: shapeLists };
}

function unrestorableReason(of: string, froms: readonly (string | null)[]): string {
  const named = froms.filter((f): f is string => f !== null).sort();
  if (named.length > 1) return `run ${of} moved such jobs here from several queues (${named.join(', ')}): cannot tell which one each came from`;
  if (named.length === 1 && froms.includes(null)) {
    return `run ${of} moved such jobs here both from queue ${displayName(named[0]!)} and from entries without a queue field: cannot tell which each came from`;
  }
  // A payload's queue is JSON text: a name that is not UTF-8 cannot be written back into it, nor
  // one with a lone surrogate (an entry's `"queue":"\ud800"`, which the run rewrote).
  if (named.length === 1 && unencodableQueueName(named[0]!) !== null) {
    return `run ${of} moved such jobs here from queue ${JSON.stringify(named[0]!).slice(1, -1)}, whose name is not valid Unicode: a payload cannot name it`;
  }
  if (named.length === 1) return `run ${of} moved such jobs here from queue ${displayName(named[0]!)}, whose name is not UTF-8: a payload cannot name it`;
  return `run ${of} moved such jobs here from entries without a queue field: their queue before is unknown`;
}

/** Where jobs of `routedClass` now on `queue` came from; undefined when the run moved no such job there. */
export function routeBack(plan: ReverseRoutingPlan, routedClass: string, queue: string): string | Unrestorable | undefined {
  return plan.back.get(pairKey(routedClass, queue));
}

/** The shapes of the moves of `routedClass` to `queue` (move-shape.ts); the usual one when none was recorded. */
export function moveShapes(plan: ReverseRoutingPlan, routedClass: string, queue: string): readonly MoveShape[] {
  return plan.shapes.get(pairKey(routedClass, queue)) ?? [PLAIN_SHAPE];
}
