import type { DescribeExecutionCommandOutput } from '@aws-sdk/client-sfn';
import type { StepFunctions } from './step-functions.js';

/** One execution in `list`: what it did, as far as its input and output say. */
export interface RunListing {
  readonly name: string;
  readonly executionArn: string;
  readonly runId?: string;
  readonly status: string;
  readonly mode?: 'reroute' | 'transfer';
  readonly dryRun?: boolean;
  /** Whether it continues a work item of an earlier execution (continue-as-new). */
  readonly continuation: boolean;
  /** Jobs moved (re-route) or written (transfer), once it succeeded. */
  readonly moved?: number;
  /**
   * Once it succeeded: whether its summary says everything was moved. An execution succeeds when an
   * item failed or continued in another execution too: its status alone would read as done.
   */
  readonly complete?: boolean;
  readonly startedAt?: Date;
  readonly stoppedAt?: Date;
  readonly durationMs?: number;
}

/** The newest `limit` executions of the state machine with mode and results (one describe each). */
export async function listRuns(sfn: StepFunctions, stateMachineArn: string, limit: number, now: Date): Promise<RunListing[]> {
  const executions = await sfn.listExecutions({ stateMachineArn }, limit);
  const described: DescribeExecutionCommandOutput[] = [];
  // One at a time: DescribeExecution shares a small token bucket, and `limit` is at most 100.
  for (const e of executions) described.push(await sfn.describe(e.executionArn!));
  return described.map((d) => listing(d, now));
}

function listing(d: DescribeExecutionCommandOutput, now: Date): RunListing {
  const input = parse(d.input) as { runId?: string; mode?: 'reroute' | 'transfer'; dryRun?: boolean; continuation?: { settings?: { runId?: string; mode?: 'reroute' | 'transfer'; dryRun?: boolean } } } | undefined;
  const settings = input?.continuation?.settings ?? input;
  const output = parse(d.output) as { totals?: { moved?: number; written?: number }; complete?: unknown } | undefined;
  const totals = output?.totals;
  const moved = totals?.moved ?? totals?.written;
  const end = d.stopDate ?? (d.status === 'RUNNING' ? now : undefined);
  return {
    name: d.name ?? d.executionArn!.split(':').at(-1)!,
    executionArn: d.executionArn!,
    ...(settings?.runId ? { runId: settings.runId } : {}),
    status: d.status ?? 'UNKNOWN',
    ...(settings?.mode ? { mode: settings.mode } : {}),
    ...(settings?.dryRun === undefined ? {} : { dryRun: settings.dryRun }),
    continuation: input?.continuation !== undefined,
    ...(moved === undefined ? {} : { moved }),
    ...(typeof output?.complete === 'boolean' ? { complete: output.complete } : {}),
    ...(d.startDate ? { startedAt: d.startDate } : {}),
    ...(d.stopDate ? { stoppedAt: d.stopDate } : {}),
    ...(d.startDate && end ? { durationMs: end.getTime() - d.startDate.getTime() } : {}),
  };
}

function parse(text: string | undefined): unknown {
  try {
    return text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}
