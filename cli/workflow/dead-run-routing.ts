import type { Connection } from '../../core/workflow/connections.js';
import { resolveRoutingInput } from '../../core/workflow/resolve-routing.js';
import { serializeRouting, storedRoutingKey, type SerializedRouting } from '../../core/workflow/stored-routing.js';
import { storedSelectionKey } from '../../core/workflow/stored-selection.js';
import { workListKey } from '../../core/workflow/work-list.js';
import type { RoutingInput } from '../../core/workflow/workflow-input.js';
import { deadRunOfThisMachine, newRunId } from './choose-run-id.js';
import { otherRoutingError, type TakeoverDifference } from './dead-run-in-the-way.js';

/** What a command would resume a dead run with: its routing input, and a move's selected classes. */
export interface TakeoverInput {
  readonly mode: 'reroute' | 'transfer';
  readonly routing: RoutingInput | undefined;
  readonly classes?: readonly string[];
}

/**
 * How dead run `runId` on `source` differs from what this command would resume it with: other
 * routing, another selection of classes (a move's), or both; undefined when it does not. Resumed
 * with other ones, the rest of its jobs would go elsewhere than those it moved (or other classes'
 * jobs would move), and a re-route's rollback record would hold both routings' moves.
 *
 * The plan step stores a run's routing and classes, then its work list, before the run moves any
 * job. A run without its work list moved nothing of its own: anything may resume it. A run with it
 * that stored no routing (a plain move) or no classes (a move of every class) ran without them.
 * Compared as the plan step would store them, in no particular order (a mapping file with its
 * lines in another order is the same routing). A stored value that does not parse differs.
 */
export async function deadRunDiffers(source: Connection, runId: string, wanted: TakeoverInput): Promise<TakeoverDifference | undefined> {
  // A `run` without routing is bad input, which the plan step names before it takes any lock; a
  // rollback chooses the run it resumes itself (rollback-command.ts).
  if ((wanted.mode === 'reroute' && wanted.routing === undefined) || wanted.routing?.kind === 'rollback') return undefined;
  const { prefix } = source.keys;
  if ((await source.redis.exists(workListKey(prefix, runId))) === 0) return undefined;
  const routing = canonicalStored(await source.redis.get(storedRoutingKey(prefix, runId)), (r: SerializedRouting) => canonical(r)) !== (wanted.routing ? canonical(serializeRouting(resolveRoutingInput(wanted.routing))) : null);
  const classes = canonicalStored(await source.redis.get(storedSelectionKey(prefix, runId)), (c: string[]) => JSON.stringify([...c].sort())) !== (wanted.classes ? JSON.stringify([...wanted.classes].sort()) : null);
  return routing && classes ? 'both' : routing ? 'routing' : classes ? 'classes' : undefined;
}

/**
 * A dead run of this machine about to be taken over is resumed only with the routing and classes
 * it stored: when chosen for this command (`chosen.resumes`), and when named with --run-id
 * (`given`; a run id whose process is alive is that process's, and its lock refuses this one).
 * Refused otherwise, touching nothing (otherRoutingError). A dry run writes nothing and resumes
 * nothing: a chosen one plans under an id of its own, as does one whose dead run's lock expired
 * between the two reads (that run is nobody's); a given id stays the one given.
 */
export async function refuseOtherRouting(source: Connection, chosen: { runId: string; resumes: boolean }, wanted: TakeoverInput, dryRun: boolean, given = false): Promise<{ runId: string; resumes: boolean }> {
  if (!chosen.resumes && !given) return chosen;
  const dead = dryRun ? undefined : await deadRunOfThisMachine(source);
  // A given id of a run that is not a dead one of this machine (of another machine, a rollback's,
  // one that ended) is taken as given, as before.
  if (given && (dead?.runId !== chosen.runId || dead.operation !== wanted.mode)) return chosen;
  const differs = await deadRunDiffers(source, chosen.runId, wanted);
  if (differs === undefined) return chosen;
  if (dead?.runId === chosen.runId) throw await otherRoutingError(source, dead, differs);
  return { runId: newRunId(wanted.mode), resumes: false };
}

/** A stored JSON value as one string (null when none is stored; one no value equals when it does not parse). */
function canonicalStored<T>(text: string | null, of: (value: T) => string): string | null {
  if (text === null) return null;
  try {
    return of(JSON.parse(text) as T);
  } catch {
    return `unreadable ${text}`;
  }
}

/** A routing as one string, whatever the order of its entries. */
function canonical(routing: SerializedRouting): string {
  const sorted = (entries: Record<string, string>) => Object.entries(entries).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  switch (routing.kind) {
    case 'classes':
      return JSON.stringify(['classes', sorted(routing.mapping), [...(routing.liveQueues ?? [])].sort()]);
    case 'renames':
      return JSON.stringify(['renames', sorted(routing.renames)]);
    case 'reverse':
      return JSON.stringify(['reverse', routing.of, routing.moves.map((m) => JSON.stringify(m)).sort()]);
  }
}
