import { FatalError } from './sidekiq-migrate-error.js';

/** Which start of a run a plan is: when it took the run's lock, and the execution it runs in. */
export interface PlanGeneration {
  readonly plannedAt: number;
  readonly plannedBy?: string;
}

/**
 * A plan that took its run's lock and, before one of its later writes, found the lock taken by
 * another start of the same run (its Lambda was paused while a retried plan task or `start
 * --resume` planned the run): that write and every one after it are refused, so that nothing the
 * later plan stored (its lock records, list, executions, routing, conflicts) is written over. Not
 * retryable: the later plan stays the later one. Nothing is lost: this plan moved nothing.
 */
export class PlanSupersededError extends FatalError {
  constructor(
    readonly runId: string,
    /** This plan's generation. */
    readonly mine: PlanGeneration,
    /** The generation the lock carries now, when readable. */
    readonly theirs: Partial<PlanGeneration> | undefined,
    /** Where it was found: "source redis://…". */
    readonly where: string,
    /** What it was about to do: "stored the run's list…". */
    readonly before: string,
  ) {
    super(
      `Run ${runId}: this plan (${describe(mine)}) was superseded by a later plan of the run (${theirs ? describe(theirs) : 'unreadable'}), found on ${where} before it ${before}; ` +
        `it wrote nothing more and leaves the run to that plan. Nothing is lost: the later plan carries run ${runId} on.`,
    );
  }
}

function describe(generation: Partial<PlanGeneration>): string {
  const at = typeof generation.plannedAt === 'number' ? `planned ${new Date(generation.plannedAt).toISOString()}` : 'planned at an unknown time';
  return typeof generation.plannedBy === 'string' ? `execution ${generation.plannedBy}, ${at}` : at;
}

/** The generation a lock's record (JSON) carries, if it is readable. */
export function generationOfRecord(record: Buffer | string | null | undefined): Partial<PlanGeneration> | undefined {
  if (record === null || record === undefined) return undefined;
  try {
    const holder = JSON.parse(String(record)) as Record<string, unknown>;
    return {
      ...(typeof holder['plannedAt'] === 'number' ? { plannedAt: holder['plannedAt'] } : {}),
      ...(typeof holder['plannedBy'] === 'string' ? { plannedBy: holder['plannedBy'] } : {}),
    };
  } catch {
    return undefined;
  }
}
