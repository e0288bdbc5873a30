import type { Redis } from 'ioredis';
import { LuaScript } from '../../core/redis/lua-script.js';
import type { ConnectionProvider } from '../../core/workflow/connections.js';
import { aroundScriptPipelines } from './around-script-pipelines.js';
import { withWrappedClient } from './wrapped-client.js';

/** What a fault does with the pipeline it meets: run it or not (`exec`), then throw or answer. */
export type Fault = (exec: () => Promise<[Error | null, unknown][]>) => Promise<unknown>;

/**
 * `provider` whose `side` client runs `fault` around the `nth` pipeline that runs `script`
 * (counting only those that ran whole), once: a slice's claim, copy or acknowledge that fails
 * before it is sent, or whose reply is lost after it ran. `faults()` says whether it was met.
 */
export function faultAt(provider: ConnectionProvider, side: 'source' | 'target', script: string, nth: number, fault: Fault): ConnectionProvider & { faults: () => number } {
  const sha = new LuaScript(script, { encodeCalls: true }).sha;
  let runs = 0;
  let faults = 0;
  const wrap = (client: Redis): Redis =>
    aroundScriptPipelines(client, sha, async (exec) => {
      if (runs + 1 === nth && faults === 0) {
        faults++;
        return fault(exec);
      }
      const replies = await exec();
      if (replies.every(([error]) => error === null)) runs++;
      return replies;
    });
  return { ...withWrappedClient(provider, side, wrap), faults: () => faults };
}
