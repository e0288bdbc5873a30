import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';

export const REGION = 'eu-west-1';
export const STATE_MACHINE_ARN = `arn:aws:states:${REGION}:123456789012:stateMachine:sidekiq-migrate`;
export const BASE_TIME = Date.parse('2026-11-23T10:00:00.000Z');
/** Each tick of the fake's clock is this long. */
export const TICK_MS = 5000;

type Status = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT';
const TERMINAL: Record<string, Status> = { ExecutionSucceeded: 'SUCCEEDED', ExecutionFailed: 'FAILED', ExecutionAborted: 'ABORTED', ExecutionTimedOut: 'TIMED_OUT' };

/** An event as a script gives it: type and details, without id or timestamp. */
export type ScriptedEvent = Omit<HistoryEvent, 'id' | 'timestamp' | 'type'> & { type: string };

interface FakeExecution {
  readonly arn: string;
  readonly name: string;
  readonly input: string;
  /** The map run this execution is a child of, if it is a Distributed Map child. */
  readonly mapRunArn?: string;
  readonly startTick: number;
  readonly events: { tick: number; event: HistoryEvent }[];
}

function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: {} });
}

/**
 * Step Functions and CloudFormation as the CLI sees them, with aws-sdk-client-mock: executions
 * whose history events appear tick by tick (a test's `sleep` advances the clock), map-run child
 * executions, stops, throttling on demand. Only what `start/watch/status/list/stop` call.
 */
export class FakeStepFunctions {
  readonly sfn = mockClient(SFNClient);
  readonly cfn = mockClient(CloudFormationClient);
  readonly executions = new Map<string, FakeExecution>();
  tick = 0;
  private readonly throttled = new Map<string, number>();
  readonly started: { name: string; input: unknown }[] = [];
  /** StartExecution calls answered with an open execution of the same name and input (nothing started). */
  readonly answeredExisting: string[] = [];
  readonly stopped: string[] = [];
  /** Scripts what an execution `start` created does (else it only starts, and runs forever). */
  onStart?: (name: string, input: unknown) => void;
  /** History events returned so far, to check that watchers read only what is new. */
  eventsServed = 0;

  constructor() {
    this.cfn.on(DescribeStacksCommand).callsFake(async (input: { StackName: string }) => {
      if (input.StackName !== 'SidekiqMigrate') throw awsError('ValidationError', `Stack with id ${input.StackName} does not exist`);
      return { Stacks: [{ StackName: 'SidekiqMigrate', CreationTime: new Date(BASE_TIME), StackStatus: 'CREATE_COMPLETE', Outputs: [{ OutputKey: 'StateMachineArn', OutputValue: STATE_MACHINE_ARN }, { OutputKey: 'DrainCheckFunctionName', OutputValue: 'sidekiq-migrate-drain-check' }] }] };
    });
    this.sfn.on(GetExecutionHistoryCommand).callsFake(async (input) => this.history(input));
    this.sfn.on(ListExecutionsCommand).callsFake(async (input) => this.listAnswer(input));
    this.sfn.on(DescribeExecutionCommand).callsFake(async (input: { executionArn: string }) => this.describe(input.executionArn));
    this.sfn.on(StartExecutionCommand).callsFake(async (input: { name: string; input: string; stateMachineArn: string }) => {
      this.maybeThrottle('StartExecution');
      const arn = `${input.stateMachineArn.replace(':stateMachine:', ':execution:')}:${input.name}`;
      const existing = this.executions.get(arn);
      if (existing) {
        // AWS: "Executions with the same name and input are considered idempotent": the name of an
        // open execution with an identical input starts nothing and answers with that execution
        // (its original startDate); another input, or an ended execution's name, is refused.
        if (existing.startTick <= this.tick && this.statusAt(existing, this.tick) === 'RUNNING' && existing.input === input.input) {
          this.answeredExisting.push(arn);
          return { executionArn: arn, startDate: this.date(existing.startTick) };
        }
        throw awsError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
      }
      this.started.push({ name: input.name, input: JSON.parse(input.input) });
      if (this.onStart) this.onStart(input.name, JSON.parse(input.input));
      else this.add(arn, input.input, [[{ type: 'ExecutionStarted', executionStartedEventDetails: { input: input.input } }]]);
      return { executionArn: arn, startDate: this.date(this.tick) };
    });
    this.sfn.on(StopExecutionCommand).callsFake(async (input: { executionArn: string; cause?: string }) => {
      const e = this.get(input.executionArn);
      this.stopped.push(input.executionArn);
      this.abort(e, input.cause ?? '');
      // Stopping a parent stops its Distributed Map's children.
      for (const child of this.executions.values()) if (child.mapRunArn && this.mapRunOwner(child.mapRunArn) === e.arn) this.abort(child, 'parent stopped');
      return { stopDate: this.date(this.tick) };
    });
  }

  restore(): void {
    this.sfn.restore();
    this.cfn.restore();
  }

  /** Advances the clock one tick: the next scripted events become visible. */
  readonly sleep = async (): Promise<void> => {
    this.tick++;
  };

  readonly now = (): Date => this.date(this.tick);

  /** The next `n` calls of the API throw ThrottlingException. */
  throttle(api: 'GetExecutionHistory' | 'ListExecutions' | 'DescribeExecution' | 'StartExecution', n: number): void {
    this.throttled.set(api, n);
  }

  /**
   * An execution whose events appear over ticks: `steps[i]` become visible at tick
   * `startTick + i`. Event ids are assigned in order.
   */
  add(arn: string, input: string, steps: ScriptedEvent[][], options: { mapRunArn?: string; startTick?: number } = {}): void {
    const startTick = options.startTick ?? this.tick;
    const events: FakeExecution['events'] = [];
    let id = 0;
    steps.forEach((step, i) => {
      for (const e of step) events.push({ tick: startTick + i, event: { ...e, id: ++id, timestamp: this.date(startTick + i) } as HistoryEvent });
    });
    this.executions.set(arn, { arn, name: arn.split(':').at(-1)!, input, startTick, events, ...(options.mapRunArn ? { mapRunArn: options.mapRunArn } : {}) });
  }

  /**
   * Redrives an ended execution (RedriveExecution, the console's "Redrive"): the same ARN runs
   * again from its unsuccessful state. `steps[0]` (after an ExecutionRedriven event) becomes
   * visible at the next tick, each further step a tick later.
   */
  redrive(arn: string, steps: ScriptedEvent[][]): void {
    const e = this.get(arn);
    if (this.statusAt(e, this.tick) === 'RUNNING') throw awsError('ExecutionNotRedrivable', `Execution is running: '${arn}'`);
    let id = e.events.at(-1)?.event.id ?? 0;
    const at = this.tick + 1;
    const all: ScriptedEvent[][] = [[{ type: 'ExecutionRedriven', executionRedrivenEventDetails: { redriveCount: 1 } }, ...(steps[0] ?? [])], ...steps.slice(1)];
    all.forEach((step, i) => {
      for (const x of step) e.events.push({ tick: at + i, event: { ...x, id: ++id, timestamp: this.date(at + i) } as HistoryEvent });
    });
  }

  calls(api: 'GetExecutionHistory' | 'ListExecutions' | 'DescribeExecution' | 'StartExecution' | 'StopExecution'): number {
    return this.sfn.calls().filter((call) => (call.args[0] as object).constructor.name === `${api}Command`).length;
  }

  status(arn: string): Status {
    return this.statusAt(this.get(arn), this.tick);
  }

  private date(tick: number): Date {
    return new Date(BASE_TIME + tick * TICK_MS);
  }

  private get(arn: string): FakeExecution {
    const e = this.executions.get(arn);
    if (!e || e.startTick > this.tick) throw awsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return e;
  }

  private visible(e: FakeExecution, tick = this.tick): HistoryEvent[] {
    return e.events.filter((x) => x.tick <= tick).map((x) => x.event);
  }

  private statusAt(e: FakeExecution, tick: number): Status {
    // The last end, unless the execution was redriven after it.
    const end = this.visible(e, tick).findLast((x) => x.type! in TERMINAL || x.type === 'ExecutionRedriven');
    return end && end.type !== 'ExecutionRedriven' ? TERMINAL[end.type!]! : 'RUNNING';
  }

  private abort(e: FakeExecution, cause: string): void {
    if (this.statusAt(e, this.tick) !== 'RUNNING') return;
    // Everything scripted for later never happens.
    e.events.splice(0, e.events.length, ...e.events.filter((x) => x.tick <= this.tick));
    const id = (e.events.at(-1)?.event.id ?? 0) + 1;
    e.events.push({ tick: this.tick, event: { id, type: 'ExecutionAborted', timestamp: this.date(this.tick), executionAbortedEventDetails: { error: 'StoppedByOperator', cause } } as HistoryEvent });
  }

  private mapRunOwner(mapRunArn: string): string | undefined {
    for (const e of this.executions.values()) if (e.events.some((x) => x.event.mapRunStartedEventDetails?.mapRunArn === mapRunArn)) return e.arn;
    return undefined;
  }

  private maybeThrottle(api: string): void {
    const n = this.throttled.get(api) ?? 0;
    if (n > 0) {
      this.throttled.set(api, n - 1);
      throw Object.assign(awsError('ThrottlingException', 'Rate exceeded'), { $retryable: { throttling: true } });
    }
  }

  private history(input: { executionArn: string; reverseOrder?: boolean; maxResults?: number; nextToken?: string }) {
    this.maybeThrottle('GetExecutionHistory');
    const events = this.visible(this.get(input.executionArn));
    if (input.reverseOrder) events.reverse();
    const from = input.nextToken ? Number(input.nextToken) : 0;
    const size = input.maxResults ?? 1000;
    const page = events.slice(from, from + size);
    this.eventsServed += page.length;
    return { events: page, ...(from + size < events.length ? { nextToken: String(from + size) } : {}) };
  }

  /** ListExecutions' answer (a test wrapping the call answers with it). */
  listAnswer(input: { stateMachineArn?: string; mapRunArn?: string; maxResults?: number; statusFilter?: string }) {
    this.maybeThrottle('ListExecutions');
    const matches = [...this.executions.values()]
      .filter((e) => e.startTick <= this.tick && (input.mapRunArn ? e.mapRunArn === input.mapRunArn : e.mapRunArn === undefined))
      .filter((e) => input.statusFilter === undefined || this.statusAt(e, this.tick) === input.statusFilter)
      .sort((a, b) => b.startTick - a.startTick);
    return {
      executions: matches.slice(0, input.maxResults ?? 100).map((e) => ({
        executionArn: e.arn,
        stateMachineArn: STATE_MACHINE_ARN,
        name: e.name,
        status: this.statusAt(e, this.tick),
        startDate: this.date(e.startTick),
      })),
    };
  }

  private describe(arn: string) {
    this.maybeThrottle('DescribeExecution');
    const e = this.get(arn);
    const events = this.visible(e);
    const status = this.statusAt(e, this.tick);
    const end = status === 'RUNNING' ? undefined : events.findLast((x) => x.type! in TERMINAL);
    const output = end?.executionSucceededEventDetails?.output;
    return {
      executionArn: arn,
      stateMachineArn: STATE_MACHINE_ARN,
      name: e.name,
      status,
      startDate: this.date(e.startTick),
      ...(end ? { stopDate: end.timestamp } : {}),
      input: e.input,
      ...(output ? { output } : {}),
    };
  }
}
