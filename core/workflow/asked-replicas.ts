import { InputError } from '../errors/input-error.js';
import type { PlannedReplicas } from '../transfer/transfer-options.js';
import type { Connection } from './connections.js';
import { readStartedWith, type StartedWith } from './started-with.js';
import { storedRoutingKey } from './stored-routing.js';
import { storedSelectionKey } from './stored-selection.js';
import { workListKey } from './work-list.js';
import type { WorkflowInput } from './workflow-input.js';

/**
 * The replicas a transfer's WAITs ask for (`--from-replicas N` / `--to-replicas N`, for a Redis
 * whose proxy hides its replicas) belong to the run, as its routing does: its first plan records
 * them in the run's started-with record (`replicas`, 0 for a side not asked), and every later plan
 * of the run goes by that record. A resume without the options (the same `--run-id` run again,
 * `start --resume`) waited for what INFO reports, none behind such a proxy: it acknowledged
 * slices before the replicas had them, and a failover then lost or duplicated them.
 *
 * A resume given another count on a side is refused, touching nothing (exit 2), whichever way it
 * differs: a lower one waits for less than the run was started with (a slip of the finger, or an
 * option copied from another run, and the same loss); a higher one would be safe to take, but
 * taken silently the operator could not tell which count the run went by, and the next resume
 * without it would go by the record again. To wait for another count, the rest is moved as a new
 * run (another run id), which finishes what this one left in flight first, waiting as it asks.
 */

/** The options, as a transfer's input names them, and as the CLI's flags do. */
const SIDES = [
  { side: 'source', field: 'fromReplicas', option: '--from-replicas' },
  { side: 'target', field: 'toReplicas', option: '--to-replicas' },
] as const;

/** A run's ask as its started-with record keeps it: 0 for a side not asked. */
export function recordedAsk(input: Pick<WorkflowInput, 'fromReplicas' | 'toReplicas'>): PlannedReplicas {
  return { source: input.fromReplicas ?? 0, target: input.toReplicas ?? 0 };
}

/**
 * What run `input.runId` waits for: the count its first plan recorded for each side (`started`,
 * the run's started-with record), or, for a run that recorded none (its first plan is this one, a
 * record an older version wrote, or a dry run's), the one `input` asks for. Returned as an input
 * whose `fromReplicas` / `toReplicas` are those (absent: 0). Throws InputError, nothing touched,
 * when `input` asks for another count than the record on either side.
 */
export function runAsk<T extends Pick<WorkflowInput, 'runId' | 'mode' | 'fromReplicas' | 'toReplicas'>>(input: T, started: StartedWith | undefined, subject: 'execution' | 'command'): T {
  if (input.mode !== 'transfer' || started?.mode !== 'transfer' || started.replicas === undefined) return input;
  const recorded = started.replicas;
  const words = (count: number, option: string) => (count > 0 ? `${option} ${count}` : `none (${option} not given)`);
  const differs = SIDES.filter(({ side, field }) => input[field] !== undefined && input[field] !== recorded[side]);
  if (differs.length > 0) {
    const startedWords = SIDES.filter(({ side }) => recorded[side] > 0).map(({ side, option }) => `${option} ${recorded[side]}`).join(' and ') || 'no --from-replicas or --to-replicas';
    const asked = differs.map(({ side, field, option }) => `${option} ${input[field]} where it was started with ${words(recorded[side], option)}`).join(', and ');
    const again = subject === 'command' ? `Run it again with the same counts, or without the options (it waits as it was started)` : `Resume it with the same counts, or without them (it waits as it was started)`;
    const fresh = subject === 'command' ? 'move the rest as a new run (another --run-id)' : 'start the rest as a new run (without --resume)';
    throw new InputError(
      `Run ${input.runId} was started with ${startedWords}; this ${subject} asks for ${asked}. The replicas a run waits for are fixed by its first plan: fewer would acknowledge what a failover can still lose. ` +
        `${again}; or, if the Redis really has another number of replicas, ${fresh} with the right count: it finishes what ${input.runId} left in flight first. Nothing was touched.`,
    );
  }
  const { fromReplicas: _from, toReplicas: _to, ...rest } = input;
  return { ...rest, ...(recorded.source > 0 ? { fromReplicas: recorded.source } : {}), ...(recorded.target > 0 ? { toReplicas: recorded.target } : {}) } as T;
}

/** Run `runId`'s started-with record as every plan reads it (readStartedWith: an older run's stored routing and selection too). */
export function readRunStart(source: Connection, runId: string, mode: StartedWith['mode']): Promise<StartedWith | undefined> {
  const { prefix } = source.keys;
  return readStartedWith(source.redis, prefix, runId, { routingKey: storedRoutingKey(prefix, runId), selectionKey: storedSelectionKey(prefix, runId), workListKey: workListKey(prefix, runId), mode });
}
