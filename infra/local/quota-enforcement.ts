import { AWS_QUOTAS, QuotaErrors } from './aws-quotas.js';

/** A local event as aws-local-stepfunctions 3 emits it (only what the quotas need). */
export interface QuotaEvent {
  readonly type: string;
  readonly index?: number;
  readonly state?: { readonly name: string; readonly type: string; readonly input?: unknown; readonly output?: unknown };
}

/** Why a local execution failed a quota, as Step Functions would report it. */
export class QuotaExceededError extends Error {
  constructor(
    override readonly name: string,
    message: string,
  ) {
    super(message);
  }
}

/** What an execution used of its quotas (measured, for tests and reports). */
export interface QuotaUsage {
  /** History events of the execution itself (without its Distributed Map children). */
  readonly historyEvents: number;
  /** The most history events of one Distributed Map child execution. */
  readonly largestChildHistory: number;
  /** The largest state input or output, in bytes. */
  readonly largestStateBytes: number;
  /** The same, leaving out the first state's input (the execution input as given). */
  readonly largestStateBytesAfterStart: number;
  /** Where the largest state after the start was seen: "<state> input|output". */
  readonly largestStateAfterStartAt?: string;
}

/**
 * The history events AWS records for a local event. A Lambda Task is 5 when it succeeds at once
 * (TaskStateEntered, LambdaFunctionScheduled, LambdaFunctionStarted, LambdaFunctionSucceeded,
 * TaskStateExited) and 3 more per retry (LambdaFunctionFailed, …Scheduled, …Started); a Choice or
 * a Pass 2; a Map 4 (MapStateEntered, MapStateStarted, MapStateSucceeded, MapStateExited), and a
 * Distributed Map 2 more in its parent, its Map Run's (MapRunStarted, MapRunSucceeded): 6, its
 * children their own histories. (Counted 4 before, MapStateStarted and MapStateSucceeded left out:
 * 680 events an execution of 340 batches that the local runner did not see.)
 */
export function historyEventsOf(event: QuotaEvent, distributedMap = false): number {
  const type = event.state?.type;
  const mapRun = distributedMap ? 1 : 0;
  switch (event.type) {
    case 'ExecutionStarted':
    case 'ExecutionSucceeded':
    case 'ExecutionFailed':
    case 'MapIterationStarted':
    case 'MapIterationSucceeded':
    case 'MapIterationFailed':
      return 1;
    case 'StateEntered':
      return type === 'Task' ? 3 : type === 'Map' ? 2 + mapRun : 1;
    case 'StateExited':
      return type === 'Task' ? 2 : type === 'Map' ? 2 + mapRun : 1;
    case 'StateFailed':
      return type === 'Map' ? 1 + mapRun : 1;
    case 'StateRetried':
      return 2;
    default:
      return 0;
  }
}

const bytesOf = (value: unknown): number => (value === undefined ? 0 : Buffer.byteLength(JSON.stringify(value), 'utf8'));

/** A task's parameters or result over 256 KiB, as Step Functions reports it; undefined within the quota. */
export function payloadViolation(state: string, what: 'parameters' | 'result', value: unknown): QuotaExceededError | undefined {
  const bytes = bytesOf(value);
  if (bytes <= AWS_QUOTAS.stateBytes) return undefined;
  return new QuotaExceededError(QuotaErrors.dataLimitExceeded, `The state/task '${state}' ${what} is ${bytes} bytes, over the ${AWS_QUOTAS.stateBytes} bytes Step Functions allows`);
}

/**
 * Follows one local execution's events and fails it where Step Functions would: a state input or
 * output over 256 KiB, a history over 25,000 events. The first violation is kept; the runner then
 * stops the execution before any further task runs. A Distributed Map child's events (forwarded
 * to its parent with an `index`) are measured for `usage` only: each child execution is followed
 * by a QuotaEnforcement of its own (`child`), and its failure fails the Map, not the parent.
 */
export class QuotaEnforcement {
  private events = 0;
  private mapRun = 0;
  private readonly children = new Map<string, number>();
  private largestChild = 0;
  private largest = 0;
  private largestAfterStart = 0;
  private largestAt: string | undefined;
  private started = false;
  violation: QuotaExceededError | undefined;

  constructor(
    private readonly distributedMaps: ReadonlySet<string>,
    /** Whether the execution followed is a Distributed Map's child execution (its messages say so). */
    private readonly child = false,
  ) {}

  observe(event: QuotaEvent): void {
    const n = historyEventsOf(event, event.state !== undefined && this.distributedMaps.has(event.state.name));
    const ofChild = event.index !== undefined || event.type.startsWith('MapIteration');
    if (!ofChild) {
      if (event.type === 'StateEntered' && event.state && this.distributedMaps.has(event.state.name)) this.mapRun++;
      this.events += n;
      const whose = this.child ? "A Distributed Map child execution's history" : "The execution's history";
      if (this.events > AWS_QUOTAS.historyEvents) this.fail(QuotaErrors.historyLimitExceeded, `${whose} passed ${AWS_QUOTAS.historyEvents} events`);
      if (this.child) this.largestChild = Math.max(this.largestChild, this.events);
    } else {
      const key = `${this.mapRun}:${event.index ?? -1}`;
      const count = (this.children.get(key) ?? 0) + n;
      this.children.set(key, count);
      this.largestChild = Math.max(this.largestChild, count);
    }
    if (event.state && (event.type === 'StateEntered' || event.type === 'StateExited')) {
      const which = event.type === 'StateEntered' ? 'input' : 'output';
      const bytes = bytesOf(event.type === 'StateEntered' ? event.state.input : event.state.output);
      this.largest = Math.max(this.largest, bytes);
      const isStart = !this.started && event.type === 'StateEntered' && event.index === undefined;
      this.started = true;
      if (!isStart && bytes > this.largestAfterStart) {
        this.largestAfterStart = bytes;
        this.largestAt = `${event.state.name} ${which}`;
      }
      if (!ofChild && bytes > AWS_QUOTAS.stateBytes) this.fail(QuotaErrors.dataLimitExceeded, `The state/task '${event.state.name}' ${which} is ${bytes} bytes, over the ${AWS_QUOTAS.stateBytes} bytes Step Functions allows`);
    }
  }

  fail(name: string, message: string): void {
    this.violation ??= new QuotaExceededError(name, message);
  }

  usage(): QuotaUsage {
    return {
      historyEvents: this.events,
      largestChildHistory: this.largestChild,
      largestStateBytes: this.largest,
      largestStateBytesAfterStart: this.largestAfterStart,
      ...(this.largestAt ? { largestStateAfterStartAt: this.largestAt } : {}),
    };
  }
}
