import type { Redis } from 'ioredis';
import { vi } from 'vitest';

export interface CommandClock {
  /** The commands the clients sent since the clock started (a pipeline's each count). */
  readonly commands: () => number;
  /** The commands sent of one name ('zscan', 'lrange'), lower case. */
  readonly sent: (name: string) => number;
  /** The sleeps the clock took instead of waiting (CommandClockOptions.sleepsIn), their ms in order. */
  readonly sleeps: () => readonly number[];
  /** Real timers and clients back as they were. */
  readonly stop: () => void;
}

/**
 * A clock that moves only when the code under test sends Redis commands: `Date` is faked (frozen
 * at the real time it starts, timers stay real) and every command sent on `clients` costs `msPerCommand`. A
 * test of a time budget (a check, a count, a page loop that stops at a deadline taken from
 * Date.now and the Lambda context) then pins where the code stops in commands, not in how fast
 * the machine is: on a loaded 2-core CI the wall-clock bounds these tests asserted failed
 * submissions at random. Start it before `fakeContext()`, whose deadline is taken from `Date.now`.
 *
 * Middy's early timeout stays a real timer of the context's remaining time at the call: give the
 * invocation plenty (tens of seconds), and cost the commands so that its budget ends in a known
 * number of them.
 */
export interface CommandClockOptions {
  /**
   * A source file (`rate-limiter.ts`) whose sleeps (setTimeout) move the clock by their length
   * and end at once instead of waiting real time: a rate limit's waits are then both fast and
   * exact. Other timers (ioredis' command timeouts, middy's) stay real.
   */
  readonly sleepsIn?: string;
  /**
   * Cost a round trip, not a command: the commands sent in one synchronous burst (a pipeline, a
   * Promise.all of commands) go out together and cost `msPerCommand` once. For code that sends
   * hundreds of commands in one pipeline, where a cost per command would be far from a network's.
   */
  readonly perRoundTrip?: boolean;
}

export function commandClock(clients: readonly Redis[], msPerCommand: number, options: CommandClockOptions = {}): CommandClock {
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
  const sleeps: number[] = [];
  const realSetTimeout = globalThis.setTimeout;
  const sleepsIn = options.sleepsIn;
  const timers =
    sleepsIn === undefined
      ? undefined
      : vi.spyOn(globalThis, 'setTimeout').mockImplementation(((handler: () => void, ms?: number, ...args: unknown[]) => {
          if (!(new Error().stack ?? '').includes(sleepsIn)) return Reflect.apply(realSetTimeout, globalThis, [handler, ms, ...args]) as unknown;
          sleeps.push(ms ?? 0);
          vi.setSystemTime(Date.now() + (ms ?? 0));
          return realSetTimeout(handler, 0);
        }) as unknown as typeof setTimeout);
  const byName = new Map<string, number>();
  let commands = 0;
  let inBurst = false;
  const restore = clients.map((client) => {
    const send = client.sendCommand;
    client.sendCommand = function (this: Redis, command, ...rest) {
      commands += 1;
      byName.set(command.name.toLowerCase(), (byName.get(command.name.toLowerCase()) ?? 0) + 1);
      if (!options.perRoundTrip || !inBurst) vi.setSystemTime(Date.now() + msPerCommand);
      if (options.perRoundTrip && !inBurst) {
        inBurst = true;
        queueMicrotask(() => {
          inBurst = false;
        });
      }
      return send.call(this, command, ...rest);
    } as Redis['sendCommand'];
    return () => {
      client.sendCommand = send;
    };
  });
  return {
    commands: () => commands,
    sent: (name) => byName.get(name) ?? 0,
    sleeps: () => sleeps,
    stop: () => {
      restore.forEach((r) => r());
      timers?.mockRestore();
      vi.useRealTimers();
    },
  };
}
