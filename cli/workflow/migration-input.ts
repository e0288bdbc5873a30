import type { RoutingInput } from '../../core/workflow/workflow-input.js';

/** The options every migration's execution input carries as they were given (run, move, start). */
export interface MigrationInputOptions {
  readonly sets: readonly string[];
  readonly queues: boolean;
  readonly dryRun: boolean;
  readonly pageSize: number;
  readonly append: boolean;
  readonly rateLimit?: number | undefined;
  readonly fromReplicas?: number | undefined;
  readonly toReplicas?: number | undefined;
  /** A re-route's (start's for both modes, as it always did); `move` has none. */
  readonly unmapped?: 'leave' | 'quarantine' | undefined;
}

/** What the command decided: the run, the connections by name, the routing and the classes chosen. */
export interface MigrationInputParts {
  readonly runId: string;
  readonly mode: 'reroute' | 'transfer';
  readonly source: string;
  readonly target?: string | undefined;
  readonly routing?: RoutingInput | undefined;
  readonly classes?: readonly string[] | undefined;
  readonly cron?: 'rewrite' | 'carry' | undefined;
}

/**
 * The execution input (core/workflow/workflow-input.ts) of a local run (`run`, `move`) and of a
 * deployed one (`start`), built here alone: the same options give the same input wherever the
 * run goes (move's transferInput and start's builder had each their copy of these lines).
 * Optional settings not given are left out, not set to undefined: the input's size is measured
 * (execution-input-size.ts) and it travels as JSON.
 */
export function migrationInput(parts: MigrationInputParts, options: MigrationInputOptions) {
  return {
    runId: parts.runId,
    mode: parts.mode,
    source: parts.source,
    ...(parts.target !== undefined ? { target: parts.target } : {}),
    ...(parts.routing ? { routing: parts.routing } : {}),
    ...(parts.classes ? { classes: parts.classes } : {}),
    sets: options.sets,
    queues: options.queues,
    dryRun: options.dryRun,
    pageSize: options.pageSize,
    ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
    ...(options.fromReplicas !== undefined ? { fromReplicas: options.fromReplicas } : {}),
    ...(options.toReplicas !== undefined ? { toReplicas: options.toReplicas } : {}),
    ...(options.unmapped !== undefined ? { unmapped: options.unmapped } : {}),
    placement: options.append ? ('append' as const) : ('front' as const),
    ...(parts.cron ? { cron: parts.cron } : {}),
  };
}
