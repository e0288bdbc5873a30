import type { WorkflowFunctionName } from '../constructs/state-names.js';

/**
 * What a local invocation knows of its time, as a Lambda's context does: the time left before the
 * function's timeout, and whether it has passed. Lambda stops a timed-out invocation; a handler
 * here cannot be stopped, so it must look (between pages) and do nothing more once it has.
 */
export interface LocalInvocationContext {
  getRemainingTimeInMillis(): number;
  timedOut(): boolean;
}

type Handler = (input: unknown, context?: LocalInvocationContext) => Promise<unknown>;

interface Container {
  readonly number: number;
  readonly handler: Handler;
  busy: boolean;
}

/**
 * Lambda's warm containers, locally: an invocation goes to an idle container of its function, or
 * to a new one, and a container serves one invocation at a time — until its handler has really
 * returned, even after the invocation timed out (Lambda would have stopped the container; here
 * it finishes in the background and is not reused meanwhile).
 */
export class WarmContainers {
  private readonly pools = new Map<WorkflowFunctionName, Container[]>();

  constructor(private readonly newHandler: (name: WorkflowFunctionName) => Handler) {}

  /** Containers started per function so far. */
  count(name: WorkflowFunctionName): number {
    return this.pools.get(name)?.length ?? 0;
  }

  async invoke(name: WorkflowFunctionName, input: unknown, timeoutMs: number, timedOut: () => Error): Promise<unknown> {
    const pool = this.pools.get(name) ?? [];
    this.pools.set(name, pool);
    let container = pool.find((c) => !c.busy);
    if (!container) {
      container = { number: pool.length + 1, handler: this.newHandler(name), busy: false };
      pool.push(container);
    }
    container.busy = true;
    const endsAt = Date.now() + timeoutMs;
    let expired = false;
    const context: LocalInvocationContext = { getRemainingTimeInMillis: () => Math.max(0, endsAt - Date.now()), timedOut: () => expired || Date.now() >= endsAt };
    const running = Promise.resolve().then(() => container.handler(input, context));
    const release = () => {
      container.busy = false;
    };
    running.then(release, release);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        expired = true;
        reject(timedOut());
      }, timeoutMs);
    });
    try {
      return await Promise.race([running, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
