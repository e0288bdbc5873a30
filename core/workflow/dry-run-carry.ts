import { InputError } from '../errors/input-error.js';
import type { RunSettings } from './work-item.js';

/**
 * What a dry run may carry in its settings of routing and classes: it stores nothing, so they
 * travel in every state, each of which Step Functions holds to 262,144 bytes. The rest of the
 * largest state (the Map's output or "Add up…"'s: the plan, a batch of 10 items and their
 * results, the tally) is under 30 KB measured (infra/stacks/README.md); this leaves 64 KiB. With
 * queue names of 512 bytes the items' destination names alone are up to 80 KB: a dry run carrying
 * more than 64 KiB names fewer of them an item (page-step.ts namesFewer), and says so.
 */
export const DRY_RUN_CARRY_BYTES = 196_608;

const n = (value: number) => value.toLocaleString('en-US');

/**
 * Refuses, at the plan and before any page runs, a dry run whose routing and
 * classes would not fit in its states: one such dry run failed at the Map with
 * States.DataLimitExceeded (a 259 KB mapping, whose execution input still fit).
 */
export function assertDryRunCarries(settings: Pick<RunSettings, 'inlineRouting' | 'inlineClasses'>): void {
  const carried = { routing: settings.inlineRouting, classes: settings.inlineClasses };
  const bytes = Buffer.byteLength(JSON.stringify(carried), 'utf8');
  if (bytes <= DRY_RUN_CARRY_BYTES) return;
  throw new InputError(
    `A dry run carries its routing in every state of the state machine (it stores nothing): this one is ${n(bytes)} bytes, over the ${n(DRY_RUN_CARRY_BYTES)} bytes it can carry. Preview it in parts (a mapping split into smaller runs, with --unmapped leave; fewer renames or classes a run); a run that is not a dry run stores its routing on the source instead. Nothing was touched.`,
  );
}
