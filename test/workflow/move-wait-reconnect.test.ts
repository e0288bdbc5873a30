// A `move` to a target with a replica, whose connection to the target is cut just as the copy's
// WAIT is sent. ioredis connects again and sends the WAIT again, on the new connection; but WAIT
// waits for the replication offset of its own connection's last write, and the new connection
// wrote nothing: it answered at once with the replica counted, though the replica lacked the copy.
// The source then acknowledged (deleted) the jobs, and a failover of the target to its replica
// lost them: the move had said Complete. Now a WAIT whose connection closed after the writes it
// covers was sent is not believed: the target is given a write of its own on the connection the
// WAIT then runs on, and WAIT covers that write, so everything written before it.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { type RedisServerHandle, startRedisServers } from '../support/redis-server.js';
import { startReplica, type ReplicaHandle } from '../support/replica.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

let source: RedisServerHandle;
let target: RedisServerHandle;
let replica: ReplicaHandle;
let proxy: { url: string; cuts: () => number; close: () => Promise<void> } | undefined;
const clients: Redis[] = [];

beforeEach(async () => {
  [source, target] = (await startRedisServers([], [])) as [RedisServerHandle, RedisServerHandle];
  replica = await startReplica(target);
});

afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  clients.splice(0).forEach((c) => c.disconnect());
  await Promise.all([replica.stop(), source.stop(), target.stop()]);
});

function client(url: string): Redis {
  const c = new Redis(url, { protocol: 2 });
  clients.push(c);
  return c;
}

/**
 * A loopback proxy in front of `to` that cuts the connection that sends a WAIT (before the WAIT
 * reaches Redis), the first `waits` times, as a network blip or a proxy's restart would: every
 * other byte passes. Only a WAIT command (`*3 $4 WAIT`), not one named in an ACL DRYRUN.
 */
async function cutAtWaits(to: RedisServerHandle, waits: number): Promise<{ url: string; cuts: () => number; close: () => Promise<void> }> {
  let cuts = 0;
  const open = new Set<Socket>();
  const server: Server = createServer((downstream) => {
    const upstream = createConnection({ host: '127.0.0.1', port: to.port });
    open.add(downstream).add(upstream);
    for (const s of [downstream, upstream]) {
      s.on('error', () => {});
      s.on('close', () => open.delete(s));
    }
    downstream.on('data', (d: Buffer) => {
      if (cuts < waits && /(^|\r\n)\*3\r\n\$4\r\nwait\r\n/i.test(d.toString('latin1'))) {
        cuts++;
        downstream.destroy();
        upstream.destroy();
        return;
      }
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => downstream.write(d));
    downstream.on('close', () => upstream.destroy());
    upstream.on('close', () => downstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `redis://127.0.0.1:${port}`,
    cuts: () => cuts,
    close: async () => {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('move to a target with a replica, its connection cut as the copy\'s WAIT is sent', { timeout: 120_000 }, () => {
  for (const [cuts, what] of [
    [1, 'the WAIT sent again on the new connection is not believed: a renewal of the run lock is written there first and WAIT covers it'],
    [2, 'the WAIT after that write cut too: the page fails (retryable), nothing acknowledged, and its retry finishes the slice through the ledger'],
  ] as const) {
    it(`${cuts} cut(s): ${what}; a failover of the target right after the move keeps every job exactly once`, async () => {
      const seeded: string[] = [];
      const from = client(source.url);
      for (let i = 0; i < 10; i++) {
        const payload = sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]` });
        await from.lpush('queue:default', payload);
        seeded.push(jobEntry('queue:default', payload));
      }
      await from.sadd('queues', 'default');
      seeded.sort();
      // The replica gets nothing more unless a WAIT asks for it (support/replica.ts).
      replica.link('lagging');
      proxy = await cutAtWaits(target, cuts);

      const move = await runCli('move', '--from', source.url, '--to', proxy.url, '--run-id', 'cut-wait-1');
      expect(proxy.cuts()).toBe(cuts);
      expect(move.code).toBe(0);
      expect(move.stdout).toContain('Complete: everything that could be moved was moved');
      expect(await jobsIn(from)).toEqual([]);
      const onTarget = new Redis(target.url, { protocol: 2 });
      try {
        expect(await jobsIn(onTarget)).toEqual(seeded);
      } finally {
        onTarget.disconnect();
      }

      // The target fails over to its replica: it has what the move waited for. Before, the first
      // WAIT sent again had answered at once, the source had acknowledged, and the 10 jobs were gone.
      await replica.promote(target);
      expect(await jobsIn(replica.client)).toEqual(seeded);
      expect(await from.keys('*sidekiq-migrate:*:inflight:*')).toEqual([]);
    });
  }
});
