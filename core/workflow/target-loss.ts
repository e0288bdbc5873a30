import type { TransferCounters } from '../transfer/transfer-counters.js';
import { targetLostCopiesMessage, targetLostDataMessage, targetLostLedgersMessage, type LostCopiesContext } from '../transfer/target-identity.js';
import type { ListedItem } from './run-tally.js';

/**
 * What one execution's summary found of a target that lost data during the run (summarize-step.ts),
 * kept beside the line it wrote so that a chain of executions says it once (combine-summaries.ts).
 */
export interface TargetLoss {
  /** The target, as the summary names it. */
  readonly target: string;
  /** The target id the plan found there, and the one there now (null: gone), when they differ. */
  readonly id?: { readonly planned: string; readonly here: string | null };
  /** Jobs whose copy the target lost before the source acknowledged them, written there again (copy-kept.ts). */
  readonly recopied: number;
  /** Sets and queues (source keys) whose ledger of the run is gone from the target. */
  readonly ledgersGone: readonly string[];
}

/** The source key of a listed item, as the loss lines name it. */
const keyOf = (item: Pick<ListedItem, 'kind' | 'name'>) => (item.kind === 'set' ? item.name : `queue:${item.name}`);

/** The listed items of a transfer that found a slice's copy lost (with what they acknowledged before it), and those that wrote without finding it. */
export function knownOfLoss(listed: readonly ListedItem[]): Pick<LostCopiesContext, 'sawLoss' | 'others'> {
  const counters = (item: ListedItem) => item.counters as TransferCounters;
  return {
    sawLoss: listed.filter((item) => (counters(item).recopied ?? 0) > 0).map((item) => ({ key: keyOf(item), acknowledgedBefore: counters(item).acknowledgedBeforeLoss ?? 0 })),
    others: listed
      .filter((item) => (counters(item).recopied ?? 0) === 0 && (counters(item).written ?? 0) + (counters(item).duplicates ?? 0) > 0)
      .map((item) => ({ key: keyOf(item), written: (counters(item).written ?? 0) + (counters(item).duplicates ?? 0) })),
  };
}

/**
 * The one line a run's summary says of its target's loss, from what its executions found
 * (`losses`, each its own summary's) and every set and queue they list (`listed`, with their last
 * counters): a lost copy written again (with the id, when it is gone too) says the most, then the
 * id (everything the run wrote there before it went), then the ledgers gone, all of them. Every
 * set and queue the run wrote there is weighed, whichever execution it ended in: a continued
 * execution knows only its own, and its line alone said "no job went with it" over jobs an earlier
 * execution had written there and acknowledged; and the executions that each looked after the
 * loss said it once each, in other words.
 */
export function targetLossLine(runId: string, losses: readonly TargetLoss[], listed: readonly ListedItem[], unlisted: number): string {
  const target = losses[0]!.target;
  const id = losses.map((l) => l.id).filter((i) => i !== undefined).at(-1);
  const recopied = losses.reduce((n, l) => n + l.recopied, 0);
  if (recopied > 0) return targetLostCopiesMessage(runId, target, recopied, { ...(id ? { id } : {}), ...knownOfLoss(listed), unlisted });
  if (id) return targetLostDataMessage(runId, target, id.planned, id.here);
  const gone = [...new Set(losses.flatMap((l) => l.ledgersGone))];
  const line = targetLostLedgersMessage(runId, target, gone);
  // The ledgers of sets and queues that ended in an execution which did not see the loss were
  // looked at before it, maybe: what they wrote is named, as the run cannot tell.
  const others = knownOfLoss(listed).others.filter((o) => !gone.includes(o.key));
  if (others.length === 0) return line;
  const named = others.slice(0, 5).map((o) => `${o.key} up to ${o.written}`).join(' · ') + (others.length > 5 ? ` · and ${others.length - 5} more` : '');
  return `${line} Written there too, by this run, and maybe gone with it (whether before the loss, the run cannot tell): ${named}.`;
}
