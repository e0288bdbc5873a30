import { InputError } from '../errors/input-error.js';
import { buildGitLabRouting, type GitLabRouting } from '../routing/gitlab-routing.js';
import { loadClassMapping } from '../routing/load-class-mapping.js';
import { parseQueueRenames } from '../routing/parse-queue-renames.js';
import { classRoutingPlan, renameRoutingPlan, type RoutingPlan } from '../routing/routing-plan.js';
import { parseClassList } from './class-list.js';
import { loadClassesFile } from './load-classes-file.js';
import { selectByStore } from './select-by-store.js';
import { selectionConflicts } from './selection-conflicts.js';

/** The selection and routing options of `move` (and, later, `start` and `drain-check`), as validated. */
export interface SelectionFlags {
  /** `--classes A,B`. */
  readonly classes?: string;
  readonly classesFile?: string;
  readonly store?: string;
  readonly catalog: readonly string[];
  readonly rules?: string;
  readonly environment: string;
  /** How the environment was given (`--environment`, `<file>: routing.environment`); absent when defaulted. */
  readonly environmentGiven?: string;
  readonly mapping?: string;
  readonly rename: readonly string[];
  readonly strict: boolean;
}

export interface ClassSelection {
  /** The classes whose jobs are carried (the class routing sees); never empty. */
  readonly classes: string[];
  /** Where the selected jobs go on the way, when anything re-routes them. */
  readonly plan?: RoutingPlan;
  /** How the classes were chosen, for the plan's title: "14 classes of store queues_shard_catchall_b (rules.yml)". */
  readonly description: string;
  /** The rules review and catalog warnings, and selected classes the catalog does not know. */
  readonly warnings: string[];
}

/** Whether any selection option was given: without one, a move carries every job. */
export const hasSelection = (flags: Pick<SelectionFlags, 'classes' | 'classesFile' | 'store'>): boolean =>
  flags.classes !== undefined || flags.classesFile !== undefined || flags.store !== undefined;

/**
 * Turns the CLI's (or the configuration file's) selection into the classes to carry and the
 * routing plan on the way:
 * - `--store NAME` with `--catalog --rules`: the workers whose first matching rule names that store
 *   (`main`: names none), each routed to that rule's queue;
 * - `--classes A,B` or a `--classes-file` list: those classes, re-routed only by the routing options
 *   given with them (rules, mapping or renames), else keeping their queue;
 * - a `--classes-file` mapping `class: queue`: those classes, each re-routed to its queue.
 * A selected class the given catalog does not know is a warning, not an error (ActiveJob classes
 * and mailers are not in GitLab's catalog): the rules give it no queue, so a transfer carries its
 * jobs unchanged to the queue or set they are in (as it does every unmapped job), counted and named.
 * Bad input throws InputError (nothing has been touched).
 */
export function resolveClassSelection(flags: SelectionFlags): ClassSelection {
  const conflicts = selectionConflicts(flags);
  if (conflicts.length > 0) throw new InputError(conflicts.map((c) => c.message).join('; '));
  if (!hasSelection(flags)) throw new InputError('no selection: give --classes A,B, --classes-file FILE, or --store NAME with --catalog and --rules');
  const routing = flags.rules !== undefined ? buildGitLabRouting({ catalogPaths: flags.catalog, rules: { path: flags.rules, environment: flags.environment, environmentGiven: flags.environmentGiven }, strict: flags.strict }) : undefined;
  const warnings = routing ? [...routing.catalog.warnings, ...routing.findings.map((f) => f.message)] : [];

  if (flags.store !== undefined) {
    const selected = selectByStore(routing!, flags.store);
    return { classes: selected.classes, plan: classRoutingPlan(selected.mapping), description: `${selected.classes.length} class(es) of store ${flags.store} (${routing!.rulesOrigin})`, warnings };
  }
  const file = flags.classesFile !== undefined ? loadClassesFile(flags.classesFile) : undefined;
  const classes = file ? file.classes : parseClassList(flags.classes!);
  const description = `${classes.length} class(es) from ${flags.classesFile ?? '--classes'}`;
  if (file?.mapping) {
    if (routing || flags.mapping !== undefined || flags.rename.length > 0) {
      throw new InputError(`--classes-file ${flags.classesFile} maps classes to queues, which re-routes them: not with --rules, --mapping or --rename (give a list of class names instead)`);
    }
    return { classes, plan: classRoutingPlan(file.mapping), description, warnings };
  }
  if (routing) warnings.push(...unknownToCatalog(classes, routing));
  return { classes, ...optionalPlan(routingPlanOf(flags, routing)), description, warnings };
}

function routingPlanOf(flags: SelectionFlags, routing: GitLabRouting | undefined): RoutingPlan | undefined {
  if (routing) return classRoutingPlan(routing.mapping, routing.liveQueues);
  if (flags.mapping !== undefined) return classRoutingPlan(loadClassMapping(flags.mapping));
  if (flags.rename.length > 0) return renameRoutingPlan(parseQueueRenames(flags.rename));
  return undefined;
}

const optionalPlan = (plan: RoutingPlan | undefined) => (plan ? { plan } : {});

const LISTED = 10;

function unknownToCatalog(classes: readonly string[], routing: GitLabRouting): string[] {
  const unknown = classes.filter((c) => !routing.mapping.has(c));
  if (unknown.length === 0) return [];
  const shown = unknown.slice(0, LISTED).join(', ') + (unknown.length > LISTED ? ` and ${unknown.length - LISTED} more` : '');
  return [`${unknown.length} selected class(es) are not in the catalog, so the rules give them no queue: a move carries their jobs unchanged, to the queue or set they are in: ${shown}`];
}
