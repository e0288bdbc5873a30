import { InputError } from '../errors/input-error.js';
import { namespacedNameProblem } from '../routing/destination-name.js';
import { resolveRoutingInput } from './resolve-routing.js';
import type { RoutingInput } from './workflow-input.js';

/**
 * Refuses routing whose destination queue is written as its key under the namespace of the run's
 * source or target (`--namespace resque:gitlab` with `--mapping {"A": "resque:gitlab:queue:new"}`, `--rename
 * a=resque:gitlab:queue:new`, a rule's queue, an execution input's): its jobs would go to a queue
 * no Sidekiq process fetches from (destination-name.ts namespacedNameProblem). Checked by the plan
 * step, the one place every way of starting a run meets the namespaces, before it reads or writes
 * anything. `prefixes`: the run's normalized prefixes ('' for none). A rollback's destinations are
 * the queues its run moved jobs from: never refused.
 */
export function refuseNamespacedDestinations(routing: RoutingInput | undefined, prefixes: readonly string[]): void {
  if (!routing || routing.kind === 'rollback') return;
  const named = prefixes.filter((p) => p !== '');
  if (named.length === 0) return;
  const problemOf = (queue: string) => named.map((p) => namespacedNameProblem(queue, p)).find((p) => p !== undefined);
  if (routing.kind === 'renames') {
    const problems = Object.entries(routing.renames).flatMap(([from, to]) => {
      const problem = problemOf(to);
      return problem === undefined ? [] : [`"${from}=${to}": the queue ${problem}`];
    });
    if (problems.length > 0) throw new InputError(`Invalid --rename:\n  - ${problems.join('\n  - ')}`);
    return;
  }
  const plan = resolveRoutingInput(routing);
  const mapping = plan.kind === 'classes' ? [...plan.mapping] : [];
  const problems = mapping.flatMap(([className, queue]) => {
    const problem = problemOf(queue);
    return problem === undefined ? [] : [`${className}: the queue ${problem}`];
  });
  // The CLI gives --rules to the execution as the mapping they resolve to (routing-input.ts).
  const where = routing.kind === 'mapping' ? '--mapping (or the queue of a routing rule)' : 'the routing rules of the execution input';
  if (problems.length > 0) throw new InputError(`Invalid destination in ${where}:\n  - ${problems.join('\n  - ')}`);
}
