import { displayName } from '../../core/redis/key-name.js';
import { OTHER_QUEUES } from '../../core/reroute/reroute-counters.js';
import type { LeftInSets } from '../../core/transfer/set-leftovers.js';
import { count as n } from './fit.js';

/** Queues named per set without --verbose; the rest in one count. */
export const LEFT_QUEUES_SHOWN = 5;

const SET_ORDER = ['schedule', 'retry', 'dead'];

/**
 * A transfer's entries left in the source's sets, per set and the queue each names
 * (TransferCounters.leftInSets), for "Needs a look": the operator retiring the old Redis learns
 * which queues' jobs stay in which set there. Per set its largest queues (`shown` of them), then
 * "… and K more queue(s), J entries" ("K+" when the counters added some up under OTHER_QUEUES).
 * Undefined when no pass left anything. `selective`: a transfer of selected classes (its other classes' entries are among them).
 */
export function setLeftoversLine(left: LeftInSets | undefined, shown = LEFT_QUEUES_SHOWN, selective = false): string | undefined {
  const sets = Object.entries(left ?? {})
    .map(([set, queues]) => [set, Object.entries(queues).filter(([, c]) => c > 0)] as const)
    .filter(([, queues]) => queues.length > 0)
    .sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0]));
  if (sets.length === 0) return undefined;
  const parts = sets.map(([set, queues]) => {
    const total = queues.reduce((sum, [, c]) => sum + c, 0);
    const named = queues.filter(([q]) => q !== OTHER_QUEUES).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    const listed = named.slice(0, shown);
    const others = named.slice(shown);
    const lumped = queues.find(([q]) => q === OTHER_QUEUES)?.[1] ?? 0;
    const restJobs = others.reduce((sum, [, c]) => sum + c, 0) + lumped;
    const restQueues = others.length + (lumped > 0 ? 1 : 0);
    const rest = restQueues > 0 ? `${listed.length > 0 ? ' · ' : ''}… and ${n(restQueues)}${lumped > 0 ? '+' : ''} more queue(s), ${n(restJobs)} entries` : '';
    return `${set} ${n(total)} (${listed.map(([q, c]) => `${displayName(q)} ${n(c)}`).join(' · ')}${rest})`;
  });
  // A selection's other classes stay by design, and no line above says why (only conflicts and unparsable entries are counted there).
  const why = selective ? 'the entries of classes not selected stay there by design; the lines above say why any other stayed' : 'the lines above say why they stayed';
  return `Left in the source's sets when their pass ended, by the queue each entry names: ${parts.join('; ')}. The source's Sidekiq pushes each to that queue on the source when due (a dead one: when retried); the old Redis is not empty while they are there (${why}; drain-check of the source counts them).`;
}

function rank(set: string): number {
  const at = SET_ORDER.indexOf(set);
  return at < 0 ? SET_ORDER.length : at;
}
