// PageMoves as it was before audit-speed-cpu (core/reroute/move-record.ts at bdc76b9), kept
// verbatim but for its imports, for page-moves-differential.test.ts. Not used by the product.
import { PLAIN_SHAPE, shapeKey, type MoveShape } from '../../../../core/payload/move-shape.js';
import { encodeMove } from '../../../../core/reroute/move-record.js';
import type { RecordedMove } from '../../../../core/routing/reverse-plan.js';

/** The distinct moves of one page or Lua call, collected as it decides (a few, whatever its size). */
export class PageMoves {
  // Nested maps rather than one map keyed by a joined string: `add` runs once per moved job, and
  // building and hashing that string was most of its cost.
  private readonly seen = new Map<string, Map<string | null, Map<string, Map<string, number>>>>();
  private readonly moves: RecordedMove[] = [];

  /**
   * A job of `routedClass` is about to move from `from` to `to`, its bytes rewritten with `shape`
   * (move-shape.ts). Renames are recorded by class too: a rollback then moves back only the
   * classes the run moved, not the jobs the destination queue already had. Returns the move's
   * 1-based index among `members()`, which the job's Lua call is given so that it records the
   * move only if it moves the job (moveIndex).
   */
  add(routedClass: string, from: string | null, to: string, shape: MoveShape = PLAIN_SHAPE): number {
    let byFrom = this.seen.get(routedClass);
    if (byFrom === undefined) this.seen.set(routedClass, (byFrom = new Map()));
    let tos = byFrom.get(from);
    if (tos === undefined) byFrom.set(from, (tos = new Map()));
    let shapes = tos.get(to);
    if (shapes === undefined) tos.set(to, (shapes = new Map()));
    const key = shapeKey(shape);
    const known = shapes.get(key);
    if (known !== undefined) return known;
    this.moves.push(key === '' ? { routedClass, from, to } : { routedClass, from, to, shape });
    shapes.set(key, this.moves.length);
    return this.moves.length;
  }

  /** The members that record them (encodeMove), in the order first added. */
  members(): string[] {
    return this.moves.map(encodeMove);
  }
}
