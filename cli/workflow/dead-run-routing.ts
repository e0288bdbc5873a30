import type { Connection } from '../../core/workflow/connections.js';
import { resolveRoutingInput } from '../../core/workflow/resolve-routing.js';
import { serializeRouting, storedRoutingKey, type SerializedRouting } from '../../core/workflow/stored-routing.js';
import type { RoutingInput } from '../../core/workflow/workflow-input.js';

/**
 * Whether dead run `runId` on `source` stored other routing than `routing` (a `run`'s routing
 * input, never a rollback's): resumed with it, the rest of its jobs would go elsewhere than those
 * it moved, and its rollback record would hold both routings' moves. The plan step stores a run's
 * routing before the run moves any job: a run that stored none moved nothing, and any routing may
 * resume it. Compared as the plan step would store it, in no particular order (a mapping file with
 * its lines in another order is the same routing). A stored value that does not parse differs.
 */
export async function deadRunRoutingDiffers(source: Connection, runId: string, routing: RoutingInput | undefined): Promise<boolean> {
  // No routing at all is bad input, which the plan step names before it takes any lock; a
  // rollback chooses the run it resumes itself (rollback-command.ts).
  if (routing === undefined || routing.kind === 'rollback') return false;
  const text = await source.redis.get(storedRoutingKey(source.keys.prefix, runId));
  if (text === null) return false;
  let stored: SerializedRouting;
  try {
    stored = JSON.parse(text) as SerializedRouting;
  } catch {
    return true;
  }
  return canonical(stored) !== canonical(serializeRouting(resolveRoutingInput(routing)));
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
