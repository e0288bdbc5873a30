// A page task watches its connections for one that closes under an unanswered call (ioredis then
// sends the call again: its counts may be short, lost-replies.ts). The CLI and a warm Lambda keep
// one client per server across every task of a run (thousands of pages at GitLab's scale), and the
// fault tests hand each task the same client wrapped anew: a task that ended must leave no
// listener on the client, or they gather (MaxListenersExceededWarning past ten, and closures kept
// for the client's life).
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { watchLostReplies } from '../../core/redis/lost-replies.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { aroundScriptPipelines } from '../support/around-script-pipelines.js';
import { processWarnings } from '../support/process-warnings.js';
import { connectShared, sharedRedisUrl, uniquePrefix } from '../support/redis.js';
import { waitUntil } from '../support/wait-until.js';

const admin = connectShared();

async function withClient(test: (client: Redis) => Promise<void>): Promise<void> {
  const connections = new UrlConnections({ source: { url: sharedRedisUrl() } });
  try {
    await test((await connections.get('source')).redis);
  } finally {
    await connections.close();
  }
}

describe("a page task's watch for replies lost with a closed connection", () => {
  it('leaves no listener on a client kept across 100 tasks, each given it wrapped anew (as the fault tests do) or as it is: no MaxListenersExceededWarning', async () => {
    await withClient(async (client) => {
      const before = client.listenerCount('close');
      const warnings = processWarnings();
      const during = new Set<number>();
      for (let task = 0; task < 100; task++) {
        const given = task % 2 === 0 ? aroundScriptPipelines(client, '0'.repeat(40), (exec) => exec()) : client;
        const watch = watchLostReplies([given]);
        await given.ping();
        during.add(client.listenerCount('close') - before);
        watch.stop();
      }
      expect({ during: [...during], after: client.listenerCount('close') - before, warnings: await warnings.stop() }).toEqual({ during: [1], after: 0, warnings: [] });
    });
  });

  it('30 tasks at once on one client: one listener among them; each counts the close under an unanswered call, and once all stopped none is left and nothing more is counted', async () => {
    await withClient(async (client) => {
      const before = client.listenerCount('close');
      const warnings = processWarnings();
      const watches = Array.from({ length: 30 }, () => watchLostReplies([client, client]));
      expect(client.listenerCount('close')).toBe(before + 1);
      const key = `${uniquePrefix()}empty`;
      const id = String(await client.client('ID'));
      // A call in flight when the connection is cut: ioredis sends it again on the new one.
      const blocked = client.blpop(key, 1);
      await waitUntil('the BLPOP is in flight', async () => /cmd=blpop/.test(String(await admin.client('LIST', 'ID', id))));
      await admin.client('KILL', 'ID', id);
      expect(await blocked).toBeNull();
      expect(watches.map((w) => w.lost())).toEqual(Array<number>(30).fill(1));
      // A close with nothing in flight is not counted.
      await admin.client('KILL', 'ID', String(await client.client('ID')));
      await client.ping();
      expect(watches.map((w) => w.lost())).toEqual(Array<number>(30).fill(1));
      for (const w of watches) w.stop();
      watches[0]!.stop();
      expect(client.listenerCount('close')).toBe(before);
      const later = watchLostReplies([client]);
      expect(client.listenerCount('close')).toBe(before + 1);
      const id2 = String(await client.client('ID'));
      const again = client.blpop(key, 1);
      await waitUntil('the second BLPOP is in flight', async () => /cmd=blpop/.test(String(await admin.client('LIST', 'ID', id2))));
      await admin.client('KILL', 'ID', id2);
      expect(await again).toBeNull();
      later.stop();
      expect([later.lost(), ...watches.map((w) => w.lost())]).toEqual([1, ...Array<number>(30).fill(1)]);
      expect(client.listenerCount('close')).toBe(before);
      expect(await warnings.stop()).toEqual([]);
    });
  });
});
