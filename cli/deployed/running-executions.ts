import { continuationNamePrefix } from '../../core/workflow/continuation-name.js';
import { resumedExecutionName } from './resumed-executions.js';
import type { StepFunctions } from './step-functions.js';

/**
 * What a running execution is to its run: one `start` gave it (RUN, RUN-resume-N), or one the
 * state machine continued it in — an item's (a set or queue, at its loop cap or set apart) or the
 * rest of the run's list (after 340 batches). A continuation goes on after the execution that
 * started it ended: that one's SUCCEEDED says nothing of the run.
 */
export type RunExecutionKind = 'start' | 'item' | 'list';

export interface RunningExecution {
  readonly name: string;
  readonly executionArn: string;
  readonly kind: RunExecutionKind;
}

/** A continuation's name (core/workflow/continuation-name.ts): `<run id, 40 characters at most>-<i|l>-<32 hex>`. */
const CONTINUATION_NAME = /-[il]-[0-9a-f]{32}$/;
/** The name Step Functions picked for a continuation of a version before they were named (no Name given). */
const PICKED_NAME = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Every execution of run `runId` still running on the state machine, whichever started it: one
 * ListExecutions of the running ones (a Distributed Map's children are not among them), then
 * RUN and RUN-resume-N by name, and each continuation by the run id in its input
 * (DescribeExecution of each running continuation, of any run: a continuation's name keeps only
 * the first 40 characters of the run id). Errors are Step Functions' (awsError): the caller says
 * what could not be checked.
 */
export async function runningExecutionsOfRun(sfn: StepFunctions, stateMachineArn: string, runId: string): Promise<RunningExecution[]> {
  const running: RunningExecution[] = [];
  for (const listed of await sfn.listExecutions({ stateMachineArn, statusFilter: 'RUNNING' })) {
    const executionArn = listed.executionArn!;
    const name = listed.name ?? executionArn.split(':').at(-1)!;
    const n = /-resume-(\d+)$/.exec(name)?.[1];
    if (name === runId || (n !== undefined && name === resumedExecutionName(runId, Number(n)))) {
      running.push({ name, executionArn, kind: 'start' });
      continue;
    }
    // Another run's continuation is told by its name, without describing it; the name keeps only
    // 40 characters of the run id, so the input says whether it is this run's.
    const named = CONTINUATION_NAME.test(name);
    if (named ? name.slice(0, -35) !== continuationNamePrefix(runId) : !PICKED_NAME.test(name)) continue;
    const input = parse((await sfn.describe(executionArn)).input) as { continuation?: { settings?: { runId?: unknown }; item?: unknown; list?: unknown } } | undefined;
    const continuation = input?.continuation;
    if (continuation?.settings?.runId !== runId) continue;
    running.push({ name, executionArn, kind: continuation.list !== undefined ? 'list' : 'item' });
  }
  return running.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function parse(text: string | undefined): unknown {
  try {
    return text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}
