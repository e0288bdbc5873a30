import type { Redis } from 'ioredis';

/**
 * `client`, whose pipelines that run the script `sha` (an EVALSHA of it among their commands) go
 * through `around` instead of their plain exec: a test acts just before such a pipeline (another
 * run takes the lock, a producer pushes, Redis refuses it) or just after (its reply lost, the
 * connection closed under it). Every other command and pipeline is the client's own.
 */
export function aroundScriptPipelines(client: Redis, sha: string, around: (exec: () => Promise<[Error | null, unknown][]>) => Promise<unknown>): Redis {
  return aroundPipelinesWhere(client, (c) => c.name === 'evalsha' && String(c.args[0]) === sha, around);
}

/** One command queued in an ioredis pipeline, as `aroundPipelinesWhere` shows it. */
export interface QueuedCommand {
  readonly name: string;
  readonly args: readonly unknown[];
}

/**
 * `client`, whose pipelines with a command `matches` accepts go through `around` instead of their
 * plain exec (aroundScriptPipelines: those that run one script; a test may pick them by a key
 * among the arguments instead). Every other command and pipeline is the client's own.
 */
export function aroundPipelinesWhere(client: Redis, matches: (command: QueuedCommand) => boolean, around: (exec: () => Promise<[Error | null, unknown][]>) => Promise<unknown>): Redis {
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== 'pipeline' || typeof value !== 'function') return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      return (...args: unknown[]) => {
        const pipeline = (value as (...a: unknown[]) => { exec: (...a: unknown[]) => Promise<unknown> }).apply(target, args);
        const exec = pipeline.exec.bind(pipeline);
        pipeline.exec = (...execArgs: unknown[]) => {
          const queued = (pipeline as unknown as { _queue: QueuedCommand[] })._queue;
          return queued.some(matches) ? around(() => exec(...execArgs) as Promise<[Error | null, unknown][]>) : exec(...execArgs);
        };
        return pipeline;
      };
    },
  });
}
