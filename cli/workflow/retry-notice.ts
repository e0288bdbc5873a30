import type { LocalEvent } from '../../infra/local/run-workflow-locally.js';
import { workflowDefinition } from '../../infra/local/workflow-definition.js';
import type { CliIo } from '../cli-io.js';

interface Retrier {
  readonly ErrorEquals: readonly string[];
  readonly IntervalSeconds?: number;
  readonly MaxAttempts?: number;
  readonly BackoffRate?: number;
  readonly MaxDelaySeconds?: number;
}
type State = { readonly Retry?: readonly Retrier[]; readonly ItemProcessor?: { readonly States: Record<string, State> } };

/** A failed attempt of a Task state: what a local run's events and a deployed execution's history both tell. */
export interface FailedAttempt {
  readonly state: string;
  /** The error name Retry matches on (RetryableError, Lambda.ServiceException…). */
  readonly error: string;
  readonly message: string;
}

let retriers: Map<string, readonly Retrier[]> | undefined;

/** Each Task state's retriers, from the definition both a local run and a deployment execute. */
function retriersOf(state: string): readonly Retrier[] {
  if (!retriers) {
    const found = new Map<string, readonly Retrier[]>();
    const walk = (states: Record<string, State>) => {
      for (const [name, s] of Object.entries(states)) {
        if (s.Retry) found.set(name, s.Retry);
        if (s.ItemProcessor) walk(s.ItemProcessor.States);
      }
    };
    walk((workflowDefinition() as { States: Record<string, State> }).States);
    retriers = found;
  }
  return retriers.get(state) ?? [];
}

/** Seconds a retrier waits in all, as Step Functions counts it (the attempts' own time aside). */
function totalWait(retrier: Retrier): number {
  let wait = 0;
  for (let i = 0; i < (retrier.MaxAttempts ?? 3); i++) wait += Math.min((retrier.IntervalSeconds ?? 1) * (retrier.BackoffRate ?? 2) ** i, retrier.MaxDelaySeconds ?? Infinity);
  return wait;
}

/**
 * How long a local run keeps retrying against a server it cannot connect to (outage-watch.ts):
 * the longest any step's RetryableError retries wait in all (about 2 min), which rides out a
 * failover; past it, no step waits out the same retries again.
 */
export function failoverWindowMs(): number {
  retriersOf('');
  let longest = 0;
  for (const list of retriers!.values()) for (const r of list) if (r.ErrorEquals.includes('RetryableError')) longest = Math.max(longest, totalWait(r));
  return longest * 1000;
}

/** "at most 6 times, about 2 min in all": the retrier's attempts and what it waits in all, as Step Functions counts it. */
export function describeRetries(retrier: Retrier): string {
  const attempts = retrier.MaxAttempts ?? 3;
  const wait = totalWait(retrier);
  const over = wait < 90 ? `${Math.round(wait)} s` : `${Math.round(wait / 60)} min`;
  return `at most ${attempts} time${attempts === 1 ? '' : 's'}, about ${over} in all`;
}

/**
 * What to say of a failed attempt the state machine retries (a failover, a replica gone, a Redis
 * refusing writes for now, a throttled Lambda): the error, then the retries to come. Nothing for
 * an error no retrier of its state takes, or one of no attempts (a continuation's name taken, an
 * invalid name): the item's or the run's failure, or the continuation followed, says it.
 */
export function transientNotice(attempt: FailedAttempt): string {
  const retrier = retriersOf(attempt.state).find((r) => r.ErrorEquals.includes(attempt.error));
  // A retrier of no attempts is the state's "never retried" (the first retrier whose errors match
  // decides): no "Transient … at most 0 times" for what the state catches at once.
  if (!retrier || retrier.MaxAttempts === 0) return '';
  return `${attempt.state}: ${attempt.message}\n  Transient: the state machine retries this step (${describeRetries(retrier)})\n`;
}

/**
 * The notices of a local run's retried attempts: without them a run sat silent through the
 * minutes its retries take, then printed the error. Once per state and message: a page retried
 * six times with the same error is one line, and a failover that fails every page says so per page.
 */
export function retryNotice(io: CliIo, clock: () => number = Date.now): (execution: string, event: LocalEvent) => void {
  const said = new Set<string>();
  const unreachable = new Set<string>();
  return (_execution, event) => {
    if (event.type !== 'StateFailed' || typeof event['Error'] !== 'string' || !event.state) return;
    const cause = event['Cause'] as { message?: unknown } | string | undefined;
    const message = typeof cause === 'string' ? cause : typeof cause?.message === 'string' ? cause.message : event['Error'];
    const key = `${event.state.name}\n${message}`;
    if (said.has(key)) return;
    const text = transientNotice({ state: event.state.name, error: event['Error'], message });
    if (!text) return;
    said.add(key);
    // A server that refuses connections: how long the run goes on retrying, and what Ctrl-C does.
    const server = /^Cannot connect to (source|target|Redis|--redis) (\S+?):? /.exec(message);
    const first = server && !unreachable.has(`${server[1]} ${server[2]}`);
    if (server) unreachable.add(`${server[1]} ${server[2]}`);
    io.err(first ? `${text}${unreachableNotice(server[1]!, server[2]!, clock())}` : text);
  };
}

/** Said once per server: the run's retries end within failoverWindowMs (outage-watch.ts), and Ctrl-C quits at once. */
function unreachableNotice(role: string, url: string, now: number): string {
  const window = failoverWindowMs();
  const until = new Date(now + window).toISOString().slice(11, 19);
  return (
    `  The ${role} ${url} cannot be reached. The run retries, to ride out a failover, until about ${until} UTC (${Math.round(window / 60_000)} min from now); ` +
    `if it is still unreachable then, the run stops and fails, losing nothing. Ctrl-C quits now, losing nothing either: run the same command again once the ${role} is back.\n`
  );
}
