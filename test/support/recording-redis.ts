// A client that records when each pipeline of the transfer's scripts goes out and comes back, to
// count a slice's round trips and see what rides in which (run-transfer-lock.test.ts,
// page-step-round-trips.test.ts, reroute/page-step-round-trips.test.ts).
import type { Redis } from 'ioredis';
import { LuaScript } from '../../core/redis/lua-script.js';

const SCRIPTS = new Map(
  (
    [
      ['claim', 'claimQueueJobs-14'],
      ['ack', 'acknowledgeQueueBatch-4'],
      ['claimSet', 'claimSetEntries-16'],
      ['ackSet', 'acknowledgeSetBatch-10'],
      ['write', 'copyJobsToLists-n4'],
      ['writeSet', 'copyEntriesToSet-6'],
      ['acquire', 'acquireRunLock-5'],
      ['lock', 'renewRunLock-4'],
      ['retire', 'retireLedger-4'],
      ['reroute', 'rerouteQueueJobs-n4'],
      ['rerouteSet', 'rerouteSetEntries-n6'],
      ['open', 'openPageAttempt-7'],
      ['receipt', 'writePageReceipt-2'],
    ] as const
  ).map(([label, name]) => [new LuaScript(name).sha, label]),
);
/** Loads every script the run sends, so that no pipeline is sent twice (NOSCRIPT, then again). */
export async function loadScripts(...servers: Redis[]): Promise<void> {
  for (const name of ['claimQueueJobs-14', 'acknowledgeQueueBatch-4', 'claimSetEntries-16', 'acknowledgeSetBatch-10', 'copyJobsToLists-n4', 'copyEntriesToSet-6', 'acquireRunLock-5', 'renewRunLock-4', 'retireLedger-4', 'rerouteQueueJobs-n4', 'rerouteSetEntries-n6', 'openPageAttempt-7', 'writePageReceipt-2']) {
    for (const server of servers) await server.script('LOAD', new LuaScript(name).source);
  }
}

/**
 * The client, recording when each pipeline of our scripts goes out ('> claim') and when its reply
 * is back ('< claim'); renewRunLock-4 is named by its action ('renew', 'release'), a pipeline of
 * plain commands by their names ('exists').
 */
export function recording(redis: Redis): Redis & { events: string[] } {
  const events: string[] = [];
  const proxy = new Proxy(redis, {
    get(target, prop, receiver) {
      if (prop === 'events') return events;
      const value = Reflect.get(target, prop, receiver);
      if (prop !== 'pipeline' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
      return (...args: unknown[]) => {
        const pipeline = value.apply(target, args);
        const exec = pipeline.exec.bind(pipeline);
        pipeline.exec = (...execArgs: unknown[]) => {
          const queued = (pipeline as unknown as { _queue: { name: string; args: unknown[] }[] })._queue;
          const labels = queued
            .filter((c) => c.name === 'evalsha')
            .map((c) => {
              const label = SCRIPTS.get(String(c.args[0])) ?? 'other';
              return label === 'lock' ? String(c.args[5]) : label;
            });
          // A pipeline of plain commands is named by them ('exists').
          const label = [...new Set(labels.length > 0 ? labels : queued.map((c) => c.name))].join('+');
          events.push(`> ${label}`);
          return exec(...execArgs).finally(() => events.push(`< ${label}`));
        };
        return pipeline;
      };
    },
  });
  return proxy as Redis & { events: string[] };
}


/**
 * Counts every command `redis` sends from now on, plain or in a pipeline (a pipeline sends each
 * through the client's sendCommand), as `NAME` or, for a SCAN, `SCAN MATCH-pattern`; `stop()`
 * ends the count and returns them in order. Patches that client only: use one no other test shares.
 */
export function countingCommands(redis: Redis): { readonly stop: () => string[] } {
  const sent: string[] = [];
  const client = redis as unknown as { sendCommand: (command: { name: string; args: unknown[] }, ...rest: unknown[]) => unknown };
  const original = client.sendCommand;
  client.sendCommand = function (this: unknown, command, ...rest) {
    const args = command.args.map((a) => (Buffer.isBuffer(a) ? a.toString('latin1') : String(a)));
    const match = args.indexOf('MATCH');
    sent.push(command.name.toLowerCase() === 'scan' && match >= 0 ? `SCAN ${args[match + 1]}` : command.name.toUpperCase());
    return original.call(this, command, ...rest);
  };
  return {
    stop: () => {
      client.sendCommand = original;
      return sent;
    },
  };
}

/**
 * Records every command `redis` sends from now on, plain or in a pipeline, as `> NAME` when it is
 * written and `< NAME` when its reply is back (or its error), in order: two commands written
 * before the first reply share a round trip. `stop()` ends the record and returns it. Patches that
 * client only: use one no other test shares at the same time.
 */
export function commandRoundTrips(redis: Redis): { readonly stop: () => string[] } {
  const events: string[] = [];
  const client = redis as unknown as { sendCommand: (command: { name: string; promise: Promise<unknown> }, ...rest: unknown[]) => unknown };
  const original = client.sendCommand;
  client.sendCommand = function (this: unknown, command, ...rest) {
    const name = command.name.toUpperCase();
    events.push(`> ${name}`);
    const settled = () => void events.push(`< ${name}`);
    command.promise.then(settled, settled);
    return original.call(this, command, ...rest);
  };
  return {
    stop: () => {
      client.sendCommand = original;
      return events;
    },
  };
}

/**
 * A client on which each run-lock renewal reaches the server late, as on a loaded machine where
 * the server read the acknowledge's bytes and answered before the renewal's arrived: the renewal's
 * pipeline goes out only once the code sends another pipeline on this client, or after `ms`. Code
 * that waits for the renewal's answer before its next pipeline is only held `ms` by it; code that
 * sends on without it shows that pipeline before the renewal's reply (run-transfer-lock.test.ts).
 * Wrap it with `recording`, which then records the renewal as the code sent it.
 */
export function lateRenewals(redis: Redis, ms = 100): Redis {
  const renew = new LuaScript('renewRunLock-4').sha;
  const held: (() => void)[] = [];
  const releaseHeld = () => held.splice(0).forEach((send) => send());
  return new Proxy(redis, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop !== 'pipeline' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
      return (...args: unknown[]) => {
        const pipeline = value.apply(target, args);
        const exec = pipeline.exec.bind(pipeline);
        pipeline.exec = (...execArgs: unknown[]) => {
          const queued = (pipeline as unknown as { _queue: { name: string; args: unknown[] }[] })._queue;
          if (!queued.some((c) => c.name === 'evalsha' && String(c.args[0]) === renew)) {
            releaseHeld();
            return exec(...execArgs);
          }
          return new Promise<void>((resolve) => {
            const timer = setTimeout(releaseHeld, ms);
            held.push(() => {
              clearTimeout(timer);
              resolve();
            });
          }).then(() => exec(...execArgs));
        };
        return pipeline;
      };
    },
  }) as Redis;
}
