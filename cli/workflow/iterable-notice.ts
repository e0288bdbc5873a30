import { printable } from '../../core/redis/key-name.js';
import type { IterableStates } from '../../core/transfer/iterable-states.js';

/**
 * That the source holds Sidekiq 7.3+ iterable jobs' progress (`it-<jid>`), which a transfer does
 * not carry (core/transfer/iterable-states.ts): a moved job among them starts its iteration again
 * on the target. Said before the summary, dry run included, so that the operator can let those
 * jobs finish on the old Redis first (docs/runbooks/redis-move.md).
 */
export function describeIterableStates(states: IterableStates | undefined, dryRun: boolean): string {
  if (!states || states.count === 0) return '';
  const count = `${states.atLeast ? 'at least ' : ''}${states.count.toLocaleString('en-US')}`;
  const more = states.count > states.jids.length ? ` · … and ${(states.count - states.jids.length).toLocaleString('en-US')} more` : '';
  return (
    `warning: sidekiq: ${count} iterable job state(s) (it-<jid>) on the source are not carried by ${dryRun ? 'a move' : 'this move'}: ` +
    `a job of such a jid that it moves (queued, scheduled, retrying or dead) restarts its iteration from the beginning on the target, ` +
    `every item processed again (a cancelled one runs). jids: ${states.jids.map(printable).join(' · ')}${more}. ` +
    `Let them finish on the old Redis first (docs/runbooks/redis-move.md, "Iterable jobs").\n`
  );
}
