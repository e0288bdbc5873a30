import type { DescribeExecutionCommandOutput, ExecutionListItem, HistoryEvent, SFNClient } from '@aws-sdk/client-sfn';
import { awsError } from './aws-errors.js';
import { quietSdkNodeVersionWarning, sdkExports } from './sdk-environment.js';
import { withThrottleRetry } from './throttle-retry.js';

export interface StepFunctionsOptions {
  readonly region?: string;
  readonly sleep: (ms: number) => Promise<void>;
  /** Told when AWS throttles us and we wait (the watcher shows it). */
  readonly onThrottled?: (delayMs: number) => void;
}

/**
 * The Step Functions calls the CLI makes, each retried while throttled and failing with one of
 * our errors (awsError) that says what it was doing. Nothing here knows the migration.
 */
export class StepFunctions {
  private sdk?: Promise<{ client: SFNClient; commands: typeof import('@aws-sdk/client-sfn') }>;

  constructor(private readonly options: StepFunctionsOptions) {}

  /** The SDK, loaded on the first call: the commands that never call AWS start without it. */
  private loadSdk() {
    quietSdkNodeVersionWarning();
    return (this.sdk ??= import('@aws-sdk/client-sfn').then((module) => {
      const commands = sdkExports(module);
      // The SDK's adaptive retry mode slows down on throttling by itself; withThrottleRetry covers
      // bursts longer than its few attempts.
      const client = new commands.SFNClient({ ...(this.options.region ? { region: this.options.region } : {}), retryMode: 'adaptive', maxAttempts: 5 });
      return { client, commands };
    }));
  }

  get region(): Promise<string> {
    return this.loadSdk().then(({ client }) => client.config.region());
  }

  private async call<T>(doing: string, send: (sdk: Awaited<ReturnType<StepFunctions['loadSdk']>>) => Promise<T>): Promise<T> {
    const sdk = await this.loadSdk();
    try {
      return await withThrottleRetry(() => send(sdk), { sleep: this.options.sleep, onThrottled: (ms) => this.options.onThrottled?.(ms) });
    } catch (error) {
      throw awsError(error, doing);
    }
  }

  describe(executionArn: string): Promise<DescribeExecutionCommandOutput> {
    return this.call(`Describing execution ${executionArn}`, ({ client, commands }) => client.send(new commands.DescribeExecutionCommand({ executionArn })));
  }

  /**
   * The events of an execution newer than `afterId`, oldest first. Reads backwards from the newest
   * and stops at the first event already seen, so that a watcher polling a long execution reads
   * only what is new (one call per poll, usually).
   */
  async eventsAfter(executionArn: string, afterId: number): Promise<HistoryEvent[]> {
    const fresh: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      // A small first page: between two polls an execution rarely adds more than a few events.
      const maxResults = nextToken ? 500 : 25;
      const page = await this.call(`Reading the history of ${executionArn}`, ({ client, commands }) =>
        client.send(new commands.GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults, includeExecutionData: true, ...(nextToken ? { nextToken } : {}) })),
      );
      for (const event of page.events ?? []) {
        if ((event.id ?? 0) <= afterId) return fresh.reverse();
        fresh.push(event);
      }
      nextToken = page.nextToken;
    } while (nextToken);
    return fresh.reverse();
  }

  /** Executions of a state machine (newest first; `statusFilter`: only those of that status) or of a Distributed Map run. */
  async listExecutions(filter: { stateMachineArn: string; statusFilter?: 'RUNNING' } | { mapRunArn: string }, limit = Infinity): Promise<ExecutionListItem[]> {
    const all: ExecutionListItem[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.call(`Listing the executions of ${'mapRunArn' in filter ? filter.mapRunArn : filter.stateMachineArn}`, ({ client, commands }) =>
        client.send(new commands.ListExecutionsCommand({ ...filter, maxResults: Math.min(1000, limit === Infinity ? 1000 : limit), ...(nextToken ? { nextToken } : {}) })),
      );
      all.push(...(page.executions ?? []));
      nextToken = page.nextToken;
    } while (nextToken && all.length < limit);
    return all.slice(0, limit);
  }

  async start(stateMachineArn: string, name: string, input: unknown): Promise<{ executionArn: string; startDate?: Date }> {
    const out = await this.call(`Starting execution ${name} of ${stateMachineArn}`, ({ client, commands }) => client.send(new commands.StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) })));
    return { executionArn: out.executionArn!, ...(out.startDate ? { startDate: out.startDate } : {}) };
  }

  async stop(executionArn: string, cause: string): Promise<void> {
    await this.call(`Stopping execution ${executionArn}`, ({ client, commands }) => client.send(new commands.StopExecutionCommand({ executionArn, error: 'StoppedByOperator', cause })));
  }
}
