import { InputError } from '../errors/input-error.js';
import type { ScanBound } from '../redis/bounded-scan.js';
import { movesPrefixes, readMoves } from '../reroute/move-record.js';
import { parseCatalogText } from '../routing/catalog/load-catalog.js';
import { buildGitLabRouting } from '../routing/gitlab-routing.js';
import { keyNameProblem } from '../routing/destination-name.js';
import { longQueueNameProblem } from '../routing/queue-name-bytes.js';
import { reverseRoutingPlan } from '../routing/reverse-plan.js';
import { classRoutingPlan, renameRoutingPlan, type RoutingPlan } from '../routing/routing-plan.js';
import { queueRenamesOf } from '../routing/parse-queue-renames.js';
import type { Connection } from './connections.js';
import type { RoutingInput } from './workflow-input.js';

/** Turns an execution's routing input into the plan the page steps use (GitLab's semantics for rules). */
export function resolveRoutingInput(routing: Exclude<RoutingInput, { kind: 'rollback' }>): RoutingPlan {
  switch (routing.kind) {
    case 'rules': {
      const { workers, warnings } = parseCatalogText(routing.catalogYaml, 'the catalog of the execution input');
      const built = buildGitLabRouting({ catalog: { workers, warnings, files: ['execution input'] }, rules: { value: routing.rules, origin: 'the execution input' } });
      refuseLongDestinations('routing rules', built.mapping);
      return classRoutingPlan(built.mapping, built.liveQueues);
    }
    case 'mapping': {
      // A key name as destination is refused as in --mapping and rules (destination-name.ts), for
      // an execution started without the CLI too. Not white space: the CLI resolves GitLab rules,
      // whose queue is used verbatim, to this form.
      const problems = Object.entries(routing.mapping).flatMap(([className, queue]) => {
        const problem = keyNameProblem(queue);
        return problem === undefined ? [] : [`${className}: the queue ${problem}`];
      });
      if (problems.length > 0) throw new InputError(`The mapping of the execution input is invalid:\n  - ${problems.join('\n  - ')}`);
      refuseLongDestinations('mapping', new Map(Object.entries(routing.mapping)));
      return classRoutingPlan(new Map(Object.entries(routing.mapping)), routing.liveQueues ?? []);
    }
    case 'renames':
      // The same validation as --rename: no self-renames, no chains.
      return renameRoutingPlan(queueRenamesOf(Object.entries(routing.renames)));
  }
}

/**
 * A destination longer than a run carries through its states (queue-name-bytes.ts), for an
 * execution started without the CLI (which refuses it in --mapping and rules): the plan fails
 * before any page, rather than the Map half-way with States.DataLimitExceeded.
 */
function refuseLongDestinations(what: string, mapping: ReadonlyMap<string, string>): void {
  const problems = [...mapping].flatMap(([className, queue]) => {
    const problem = longQueueNameProblem(queue);
    return problem === undefined ? [] : [`${className}: the queue ${problem}`];
  });
  if (problems.length > 0) throw new InputError(`The ${what} of the execution input is invalid:\n  - ${problems.join('\n  - ')}`);
}

/**
 * Any routing input, for run `runId` on `source`: a rollback reads the moves the run it rolls
 * back recorded there (the plan step holds the run lock meanwhile, so they no longer change).
 */
export async function resolveRouting(routing: RoutingInput, source: Connection, runId: string, lookBound: ScanBound = {}): Promise<RoutingPlan> {
  if (routing.kind !== 'rollback') return resolveRoutingInput(routing);
  // Its own moves would land in the record it reads: refused rather than mixed.
  if (routing.of === runId) throw new InputError(`A rollback needs a run id of its own: ${runId} is the run it rolls back.`);
  const moves = await readMoves(source.redis, source.keys.prefix, routing.of);
  if (moves === null) {
    const where = source.keys.prefix === '' ? source.name : `${source.name} (namespace ${source.keys.prefix})`;
    // After GitLab's namespace move both layouts may hold jobs: a wrong --namespace finds no record.
    // Bounded by the plan's look time (lookBound): cut short with none found, it says how far it looked.
    const search = await movesPrefixes(source.redis, routing.of, lookBound);
    const elsewhere = search.prefixes.filter((p) => p !== source.keys.prefix);
    if (elsewhere.length > 0) {
      const first = elsewhere[0]!;
      const named = elsewhere.map((p) => (p === '' ? 'no prefix' : `the prefix "${p}"`)).join(', ');
      throw new InputError(`Run ${routing.of} recorded no moves on ${where}, but its record is on this Redis under ${named}: ${first === '' ? 'leave out --namespace' : `use --namespace ${first}`}.`);
    }
    if (search.cut) {
      const n = (value: number) => value.toLocaleString('en-US');
      throw new InputError(
        `Run ${routing.of} recorded no moves on ${where}, and the look for its record under other prefixes of this Redis stopped after about ${n(search.cut.lookedAt)} of its ${n(search.cut.keys)} keys (its share of the plan task's time): ` +
          `it moved nothing, was a dry run, is older than 30 days, was a transfer, or its record is under another prefix among the keys not looked at (give that prefix with --namespace).`,
      );
    }
    throw new InputError(`Run ${routing.of} recorded no moves on ${where}: it moved nothing, was a dry run, is older than 30 days, or was a transfer.`);
  }
  return reverseRoutingPlan(routing.of, moves);
}
