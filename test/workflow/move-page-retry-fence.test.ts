// A page retried after its copy was written: the retry's claim returns the jobs still in flight from
// the attempt before, and its copy writes none of them (the run's ledger says the target has them
// all). Here the target's connection is also opened again right after the retry took its locks, so
// the copy and its WAIT run on a socket that has written nothing. On Redis 7.2 and later (Valkey
// too) a connection's WAIT offset moves only with a command that replicated something: that WAIT
// covered nothing, answered at once with the replica counted, and the source acknowledged jobs
// only the target's primary had; a failover of the target then lost them. Now a copy (or claim)
// that wrote nothing has its WAIT cover a fence (the run lock renewed on that socket) first.
// The redis-server these tests run is 7.0, which moves the offset with every command (the copy's
// own call covered the earlier copy): this test holds there with or without the fence, and guards
// the outcome; test/redis/transfer/wrote-nothing-fence.test.ts checks that the fence is written.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { jobsIn } from '../support/exact-jobs.js';
import type { RedisServerHandle } from '../support/redis-server.js';
import { replicatedPair } from '../support/replicated-pair.js';
import { runCli } from '../support/run-cli.js';

const pair = replicatedPair();

/**
 * A loopback proxy in front of `to`. `cutAfterReplyTo(d)`: the connection that sent `d` is cut
 * right after the reply to it has been passed on (the client has its answer, then the connection
 * closes, as a blip between two commands). `delayMs()`: how long each reply is held before it is
 * passed on (in order).
 */
async function proxyTo(to: RedisServerHandle, hooks: { cutAfterReplyTo?: (d: string) => boolean; delayMs?: () => number }): Promise<{ url: string; cuts: () => number }> {
  let cuts = 0;
  const open = new Set<Socket>();
  const server: Server = createServer((downstream) => {
    const upstream = createConnection({ host: '127.0.0.1', port: to.port });
    open.add(downstream).add(upstream);
    for (const s of [downstream, upstream]) {
      s.on('error', () => {});
      s.on('close', () => open.delete(s));
    }
    let cutNext = false;
    downstream.on('data', (d: Buffer) => {
      if (hooks.cutAfterReplyTo?.(d.toString('latin1'))) cutNext = true;
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      const pass = () => {
        if (downstream.destroyed) return;
        if (!cutNext) return void downstream.write(d);
        cutNext = false;
        cuts++;
        downstream.write(d, () => {
          downstream.destroy();
          upstream.destroy();
        });
      };
      const delay = hooks.delayMs?.() ?? 0;
      if (delay > 0) setTimeout(pass, delay);
      else pass();
    });
    downstream.on('close', () => upstream.destroy());
    upstream.on('close', () => downstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  pair.afterTest(async () => {
    for (const s of open) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `redis://127.0.0.1:${(server.address() as { port: number }).port}`, cuts: () => cuts };
}

describe('a retried page whose copy writes nothing new waits for a write of its own', { timeout: 300_000 }, () => {
  it("the target's replica stalled; the page's first attempt copies and its WAIT comes short; its retry's connection to the target is opened again right after it took its locks: the retry's WAIT is not believed, nothing acknowledged; once the replica keeps up, the same run finishes and a failover of the target keeps every job", async () => {
    const { source, target } = pair.servers();
    const replica = await pair.replica(target, { patient: true });
    const seeded = await pair.seed({ queued: 20 });
    replica.link('frozen');

    // Armed by the first WAIT asking for the replica (the first attempt's, after its copy): the
    // next lock taken on the target (a page's 'hold', its retry's) is answered, then the
    // connection is cut; ioredis connects again while the source answers slowly.
    let waited = false;
    let cutting = true;
    let armed = 0;
    const targetProxy = await proxyTo(target, {
      cutAfterReplyTo: (d) => {
        if (/\r\n\$4\r\nwait\r\n\$\d+\r\n[1-9]/i.test(d)) waited = true;
        return cutting && waited && /\r\n\$4\r\nhold\r\n/.test(d) && armed++ === 0;
      },
    });
    const slowSource = await proxyTo(source, { delayMs: () => (targetProxy.cuts() > 0 && cutting ? 300 : 0) });
    const { summary: first } = await pair.transfer({ runId: 'pf-1' }, { source: slowSource.url, target: targetProxy.url });
    expect(targetProxy.cuts()).toBe(1);
    // Before: the retry's WAIT answered at once on the new connection, the 20 jobs were
    // acknowledged, the run Complete, and the failover below found none of them on the replica.
    expect(first.complete).toBe(false);
    expect(first.failures.map((f) => f.error)).toEqual([expect.stringContaining(`only 0 of the 1 replica(s) of the target ${targetProxy.url} confirmed the writes`)]);
    expect(await jobsIn(pair.client(source))).toEqual([]);
    expect(await pair.inFlight('pf-1')).toEqual(seeded);
    expect(await jobsIn(pair.client(target))).toEqual(seeded);

    cutting = false;
    replica.link('lagging');
    const done = await runCli('move', '--from', source.url, '--to', target.url, '--run-id', 'pf-1');
    expect(done.stdout).toContain('Complete');
    expect(done.code).toBe(0);
    expect(await jobsIn(pair.client(target))).toEqual(seeded);
    expect(await jobsIn(pair.client(source))).toEqual([]);
    pair.dropClients();
    await replica.promote(target);
    expect(await jobsIn(replica.client)).toEqual(seeded);
  });
});
