import type { Redis } from 'ioredis';
import { LuaScript } from '../../core/redis/lua-script.js';
import type { ConnectionProvider } from '../../core/workflow/connections.js';
import { aroundScriptPipelines } from './around-script-pipelines.js';
import { withWrappedClient } from './wrapped-client.js';

/**
 * `provider` whose target client refuses the write of the `nth` slice (copyJobsToLists-n4),
 * as Redis refuses a write when out of memory, before it runs; `meanwhile` runs first (a producer).
 */
export function targetRefusesWrite(provider: ConnectionProvider, nth: number, meanwhile: () => Promise<void>): ConnectionProvider & { refused: () => number } {
  const write = new LuaScript('copyJobsToLists-n4', { encodeCalls: true }).sha;
  let writes = 0;
  let refused = 0;
  const wrap = (client: Redis): Redis =>
    aroundScriptPipelines(client, write, async (exec) => {
      if (writes + 1 === nth && refused === 0) {
        refused++;
        await meanwhile();
        throw Object.assign(new Error("OOM command not allowed when used memory > 'maxmemory'."), { name: 'ReplyError' });
      }
      const replies = await exec();
      // A slice's write counts once it ran (not a first send that met NOSCRIPT and is sent again).
      if (replies.every(([error]) => error === null)) writes++;
      return replies;
    });
  return { ...withWrappedClient(provider, 'target', wrap), refused: () => refused };
}
