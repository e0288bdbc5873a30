// Two ways a resumed `move` acknowledged on the source what a replica did not have yet:
//
// 1. The ask for replicas (`--from-replicas N` / `--to-replicas N`, for a Redis whose proxy hides
//    its replicas: INFO connected_slaves:0) was only as good as the command that gave it. The same
//    run id run again without the option waited for what INFO reports, none behind such a proxy:
//    the resumed slices were acknowledged before the target's replica had their copy, and a
//    failover of the target then lost them. Now the ask is part of the run (recorded by its first
//    plan beside its routing, started-with.ts): a resume without the option waits as the run was
//    started; one with another count is refused, exit 2, both counts named, nothing touched.
//
// 2. What an earlier attempt left in flight (claimed, perhaps copied, by a process that is gone)
//    is finished by the next plan (resume-inflight.ts), whose WAIT had no write of its own to wait
//    for: a connection opened again just before it (a blip; ioredis sends the WAIT again) answered
//    at once, every replica counted, though the replica lacked the claim. The copy went to the
//    target, the source acknowledged, and a failover of the source brought the jobs back on its
//    queue: each job twice. Now such a WAIT covers a write of the plan's own on the connection it
//    runs on (the run lock written again), so a replica that does not have the claim fails it.
//
// A command expected to fail runs with runCliRetryingAtOnce: its failing step is attempted as
// often as a user's run attempts it, without the 2 minutes of backoff between the attempts.
import { describe, expect, it } from 'vitest';
import { jobsIn, keyValueSnapshot } from '../support/exact-jobs.js';
import type { RedisServerHandle } from '../support/redis-server.js';
import { replicatedPair } from '../support/replicated-pair.js';
import { rewritingProxy } from '../support/rewriting-proxy.js';
import { runCli, runCliRetryingAtOnce } from '../support/run-cli.js';
import { waitCuttingProxy } from '../support/wait-cutting-proxy.js';

const pair = replicatedPair();

/** `server` behind a proxy that shows none of its replicas (Redis Enterprise's): INFO says connected_slaves:0. */
async function hidingReplicas(server: RedisServerHandle): Promise<string> {
  const proxy = await rewritingProxy({ host: '127.0.0.1', port: server.port }, (chunk) => chunk.replace(/connected_slaves:\d/g, 'connected_slaves:0'));
  pair.afterTest(proxy.close);
  return proxy.url;
}

/** A proxy in front of `to` that cuts the connection sending the first WAIT asking for a replica (not `WAIT 0 0`) while `cutting()`. */
async function cutAtFirstWait(to: RedisServerHandle, cutting: () => boolean): Promise<{ url: string; cuts: () => number }> {
  const proxy = await waitCuttingProxy(to, (replicas) => replicas > 0 && cutting() && proxy.cuts() === 0);
  pair.afterTest(proxy.close);
  return proxy;
}

/** A first start of the run, as `move --run-id <runId> <asked>` plans and pages it, with no wait between retries. */
async function firstStart(runId: string, targetUrl: string, asked: Record<string, number>) {
  return (await pair.transfer({ runId, ...asked }, { target: targetUrl })).summary;
}

describe('a resumed move waits for the replicas its run was started with', { timeout: 420_000 }, () => {
  it('started with --to-replicas 1 on a target whose proxy hides its replica, run again without it: the WAIT still asks for 1, the slices fail naming --to-replicas 1, nothing acknowledged; once the replica keeps up, the same command finishes and a failover of the target keeps every job', async () => {
    const { source, target } = pair.servers();
    const replica = await pair.replica(target, { patient: true });
    const hidden = await hidingReplicas(target);
    const seeded = await pair.seed({ queued: 20, retrying: 5 });
    // A stalled replica: it gets none of the copies.
    replica.link('frozen');
    const first = await firstStart('rr-1', hidden, { toReplicas: 1 });
    expect(first.complete).toBe(false);
    expect(first.failures.map((f) => f.error)).toEqual([0, 1].map(() => expect.stringContaining(`only 0 of the 1 replica(s) of the target ${hidden} (1 asked for with --to-replicas; it reports 0`)));
    expect(await jobsIn(pair.client(source))).toEqual([]);
    expect(await pair.inFlight('rr-1')).toEqual(seeded);

    // The same run id, without --to-replicas. Before: INFO said 0, so no WAIT; the 25 jobs were
    // acknowledged on the source, "Complete", and the failover below lost them all.
    const again = await runCliRetryingAtOnce('move', '--from', source.url, '--to', hidden, '--run-id', 'rr-1');
    expect(again.code).toBe(1);
    expect(again.stdout).not.toContain('Complete');
    expect(`${again.stdout}${again.stderr}`).toContain(`only 0 of the 1 replica(s) of the target ${hidden} (1 asked for with --to-replicas; it reports 0`);
    expect(await jobsIn(pair.client(source))).toEqual([]);
    expect(await pair.inFlight('rr-1')).toEqual(seeded);

    // The replica keeps up (only a WAIT gets it the writes): the same command, still without the option.
    replica.link('lagging');
    const done = await runCli('move', '--from', source.url, '--to', hidden, '--run-id', 'rr-1');
    expect(done.stdout).toContain('Complete');
    expect(done.code).toBe(0);
    expect(await jobsIn(pair.client(target))).toEqual(seeded);
    expect(await jobsIn(pair.client(source))).toEqual([]);
    expect(await pair.inFlight('rr-1')).toEqual([]);
    pair.dropClients();
    await replica.promote(target);
    expect(await jobsIn(replica.client)).toEqual(seeded);
  });

  for (const [given, words] of [
    [['--to-replicas', '2'], '--to-replicas 2 where it was started with --to-replicas 1'],
    [['--from-replicas', '1'], '--from-replicas 1 where it was started with none (--from-replicas not given)'],
  ] as const) {
    it(`started with --to-replicas 1, run again with ${given.join(' ')}: exit 2 naming both, nothing touched on either server`, async () => {
      const { source, target } = pair.servers();
      const seeded = await pair.seed({ queued: 20, retrying: 5 });
      const first = await firstStart('rr-2', target.url, { toReplicas: 1 });
      expect(first.complete).toBe(false);
      expect(await pair.inFlight('rr-2')).toEqual(seeded);
      const before = [await keyValueSnapshot(pair.client(source)), await keyValueSnapshot(pair.client(target))];

      const refused = await runCli('move', '--from', source.url, '--to', target.url, '--run-id', 'rr-2', ...given);
      expect(refused.code).toBe(2);
      expect(refused.stdout).toBe('');
      expect(refused.stderr.trim().split('\n')).toEqual([expect.stringContaining(`Run rr-2 was started with --to-replicas 1; this command asks for ${words}`)]);
      expect(refused.stderr).toContain('Nothing was touched.');
      expect([await keyValueSnapshot(pair.client(source)), await keyValueSnapshot(pair.client(target))]).toEqual(before);
      expect(await pair.inFlight('rr-2')).toEqual(seeded);
    });
  }

  it('started with --to-replicas 1, run again with --to-replicas 1: the same count, not refused; the move finishes, and a failover of the target keeps every job', async () => {
    const { source, target } = pair.servers();
    const replica = await pair.replica(target, { patient: true });
    const hidden = await hidingReplicas(target);
    const seeded = await pair.seed({ queued: 20, retrying: 5 });
    replica.link('frozen');
    const first = await firstStart('rr-3', hidden, { toReplicas: 1 });
    expect(first.complete).toBe(false);
    expect(await pair.inFlight('rr-3')).toEqual(seeded);
    replica.link('lagging');
    const again = await runCli('move', '--from', source.url, '--to', hidden, '--run-id', 'rr-3', '--to-replicas', '1');
    expect(again.stdout).toContain('Complete');
    expect(again.code).toBe(0);
    expect(await jobsIn(pair.client(target))).toEqual(seeded);
    expect(await jobsIn(pair.client(source))).toEqual([]);
    pair.dropClients();
    await replica.promote(target);
    expect(await jobsIn(replica.client)).toEqual(seeded);
  });

  it('an execution resuming the run (start --resume) without toReplicas waits for the recorded 1, its plan failing retryably, nothing acknowledged; one with toReplicas 2 is refused as bad input naming both, nothing touched', async () => {
    const { source, target } = pair.servers();
    const seeded = await pair.seed({ queued: 20, retrying: 5 });
    const first = await firstStart('rr-6', target.url, { toReplicas: 1 });
    expect(first.complete).toBe(false);
    expect(await pair.inFlight('rr-6')).toEqual(seeded);
    // Before: no WAIT (the target reports no replica), the 25 jobs acknowledged, the execution "Complete".
    const [resumed] = (await pair.transfer({ runId: 'rr-6' })).executions;
    expect(resumed!.error?.name).toBe('RetryableError');
    expect(resumed!.error?.message).toContain(`only 0 of the 1 replica(s) of the target ${target.url} (1 asked for with --to-replicas; it reports 0`);
    expect(await pair.inFlight('rr-6')).toEqual(seeded);
    expect(await jobsIn(pair.client(source))).toEqual([]);

    const before = [await keyValueSnapshot(pair.client(source)), await keyValueSnapshot(pair.client(target))];
    const [refused] = (await pair.transfer({ runId: 'rr-6', toReplicas: 2 })).executions;
    expect(refused!.error?.name).toBe('InvalidInputError');
    expect(refused!.error?.message).toContain('Run rr-6 was started with --to-replicas 1; this execution asks for --to-replicas 2 where it was started with --to-replicas 1.');
    expect(refused!.error?.message).toContain('start the rest as a new run (without --resume) with the right count');
    expect([await keyValueSnapshot(pair.client(source)), await keyValueSnapshot(pair.client(target))]).toEqual(before);
  });
});

describe('a plan finishing what an earlier attempt left in flight waits for a write of its own', { timeout: 420_000 }, () => {
  it("the source's replica stalled, its connection cut as the resumed claim's WAIT is sent: not believed, the plan fails retryably, nothing copied or acknowledged; once the replica keeps up, the same command finishes, and a failover of the source brings no job back", async () => {
    const { source, target } = pair.servers();
    const replica = await pair.replica(source, { patient: true });
    const seeded = await pair.seed({ queued: 20, retrying: 5 });
    replica.link('frozen');
    // An earlier attempt claimed every job; its WAIT came short, so nothing was copied.
    const first = await firstStart('rr-4', target.url, {});
    expect(first.complete).toBe(false);
    expect(first.failures.map((f) => f.error)).toEqual([0, 1].map(() => expect.stringContaining(`only 0 of the 1 replica(s) of the source ${source.url}`)));
    expect(await pair.inFlight('rr-4')).toEqual(seeded);

    let cutting = true;
    const proxy = await cutAtFirstWait(source, () => cutting);
    // Before: the WAIT sent again on the new connection covered nothing it wrote, and answered at once
    // with the replica counted: the 25 jobs were copied, acknowledged, "Complete" (exit 0), and after
    // the failover below each was on the target and back on the source.
    const again = await runCliRetryingAtOnce('move', '--from', proxy.url, '--to', target.url, '--run-id', 'rr-4');
    expect(proxy.cuts()).toBe(1);
    expect(again.code).toBe(1);
    expect(again.stdout).not.toContain('Complete');
    expect(`${again.stdout}${again.stderr}`).toContain(`only 0 of the 1 replica(s) of the source ${proxy.url} confirmed the writes`);
    expect(await pair.inFlight('rr-4')).toEqual(seeded);
    expect(await jobsIn(pair.client(target))).toEqual([]);

    cutting = false;
    replica.link('lagging');
    const done = await runCli('move', '--from', proxy.url, '--to', target.url, '--run-id', 'rr-4');
    expect(done.stdout).toContain('Complete');
    expect(done.code).toBe(0);
    expect(await jobsIn(pair.client(target))).toEqual(seeded);
    expect(await jobsIn(pair.client(source))).toEqual([]);
    pair.dropClients();
    await replica.promote(source);
    expect(await jobsIn(replica.client)).toEqual([]);
    expect(await jobsIn(pair.client(target))).toEqual(seeded);
  });

  it("the source's replica keeping up, the connection cut as the resumed claim's WAIT is sent: the plan's own write is waited for, and the same command finishes; a failover of the source brings no job back", async () => {
    const { source, target } = pair.servers();
    const replica = await pair.replica(source, { patient: true });
    // One key in flight: no later WAIT of the run gets the replica the claim (a second key's would).
    const seeded = await pair.seed({ queued: 20 });
    replica.link('frozen');
    const first = await firstStart('rr-5', target.url, {});
    expect(first.complete).toBe(false);
    expect(await pair.inFlight('rr-5')).toEqual(seeded);

    replica.link('lagging');
    const proxy = await cutAtFirstWait(source, () => true);
    const done = await runCli('move', '--from', proxy.url, '--to', target.url, '--run-id', 'rr-5');
    expect(proxy.cuts()).toBe(1);
    expect(done.stdout).toContain('Complete');
    expect(done.code).toBe(0);
    expect(await jobsIn(pair.client(target))).toEqual(seeded);
    expect(await jobsIn(pair.client(source))).toEqual([]);
    pair.dropClients();
    // Before: the WAIT sent again answered at once, and the claim had not reached the replica: after
    // the failover the 20 jobs were back on the source's queue, each also on the target.
    await replica.promote(source);
    expect(await jobsIn(replica.client)).toEqual([]);
  });
});
