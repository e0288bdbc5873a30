import { list as commandNames } from '@ioredis/commands';
import type { Redis } from 'ioredis';
import type { Connection } from '../../core/workflow/connections.js';

export interface RedisCall {
  /** 0-based position of this call among all calls made through the wrapper. */
  readonly index: number;
  /** The command (`zscanBuffer`, `evalsha`…), or `pipeline` for a pipeline's exec. */
  readonly command: string;
  /** The SHA-1 of each script a pipeline runs (EVALSHA), in order: which atomic step it is. */
  readonly scripts: readonly string[];
}

/** Thrown by a `before` callback to simulate the process dying before a call reaches Redis. */
export class SimulatedCrash extends Error {}

const COMMANDS = new Set(commandNames.flatMap((c) => [c, `${c}Buffer`]));

/**
 * A client that runs `before` ahead of every call the code under test sends — including a
 * pipeline, once, at exec — so that a test can interfere between any two Redis calls (another
 * client's write, a consumer's pop) or stop the code there by throwing SimulatedCrash. `after`,
 * when given, runs once the call has been answered: throwing there loses a reply to a call that
 * ran.
 */
export function interferingRedis(
  redis: Redis,
  before: (call: RedisCall) => Promise<void> | void,
  after?: (call: RedisCall) => Promise<void> | void,
): Redis & { calls: () => number } {
  let index = 0;
  return new Proxy(redis, {
    get(target, prop, receiver) {
      if (prop === 'calls') return () => index;
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      if (prop === 'pipeline' || prop === 'multi') {
        return (...args: unknown[]) => {
          const pipeline = value.apply(target, args);
          const exec = pipeline.exec.bind(pipeline);
          pipeline.exec = async (...execArgs: unknown[]) => {
            const queued = (pipeline as unknown as { _queue: { name: string; args: unknown[] }[] })._queue;
            const scripts = queued.filter((c) => c.name === 'evalsha').map((c) => String(c.args[0]));
            const call = { index: index++, command: prop, scripts };
            await before(call);
            const replies = await exec(...execArgs);
            await after?.(call);
            return replies;
          };
          return pipeline;
        };
      }
      if (!COMMANDS.has(prop)) return value.bind(target);
      return async (...args: unknown[]) => {
        const call = { index: index++, command: prop, scripts: [] };
        await before(call);
        const reply = await value.apply(target, args);
        await after?.(call);
        return reply;
      };
    },
  }) as Redis & { calls: () => number };
}

/**
 * Makes the clients `provider` hands out run `before(call, name)` ahead of every call (see
 * interferingRedis), `name` the connection's: one wrapped client per connection, kept for every
 * later get (as a container keeps its connections, and so that `call.index` counts on). Changes
 * `provider.get` in place, so that closing `provider` still closes the real clients; returns it.
 */
export function interfereWithConnections<P extends { get: (name: string) => Promise<Connection> }>(provider: P, before: (call: RedisCall, name: string) => Promise<void> | void): P {
  const get = provider.get.bind(provider);
  const wrapped = new Map<string, Connection>();
  provider.get = async (name: string) => {
    const connection = await get(name);
    if (!wrapped.has(name)) wrapped.set(name, { ...connection, redis: interferingRedis(connection.redis, (call) => before(call, name)) });
    return wrapped.get(name)!;
  };
  return provider;
}
