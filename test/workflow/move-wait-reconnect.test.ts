// A `move` to a target with a replica, whose connection to the target is cut just as the copy's
// WAIT is sent. ioredis connects again and sends the WAIT again, on the new connection; but WAIT
// waits for the replication offset of its own connection's last write, and the new connection
// wrote nothing: it answered at once with the replica counted, though the replica lacked the copy.
// The source then acknowledged (deleted) the jobs, and a failover of the target to its replica
// lost them: the move had said Complete. Now a WAIT whose connection closed after the writes it
// covers was sent is not believed: the target is given a write of its own on the connection the
// WAIT then runs on, and WAIT covers that write, so everything written before it.
import { describe, expect, it } from 'vitest';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { replicatedPair } from '../support/replicated-pair.js';
import { runCli } from '../support/run-cli.js';
import { waitCuttingProxy } from '../support/wait-cutting-proxy.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { combineSummaries } from '../../core/workflow/combine-summaries.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { runWorkflowLocally } from '../../infra/local/run-workflow-locally.js';

const pair = replicatedPair();

/** A proxy in front of `to` that cuts the connection sending the nth WAIT (`WAIT 0 0` counted too) when `cut(n)`, closed after the test. */
async function cutAtWaits(to: Parameters<typeof waitCuttingProxy>[0], cut: (nth: number) => boolean) {
  let waits = 0;
  const proxy = await waitCuttingProxy(to, () => cut(++waits));
  pair.afterTest(proxy.close);
  return proxy;
}

describe('move to a target with a replica, its connection cut as the copy\'s WAIT is sent', { timeout: 120_000 }, () => {
  for (const [cut, what] of [
    [[1], 'the WAIT sent again on the new connection is not believed: a renewal of the run lock is written there first and WAIT covers it'],
    [[1, 3], 'the WAIT after that renewal cut too: the page fails (retryable), nothing acknowledged, and its retry finishes the slice through the ledger'],
  ] as const) {
    it(`WAIT number ${cut.join(' and ')} cut: ${what}; a failover of the target right after the move keeps every job exactly once`, async () => {
      const { source, target } = pair.servers();
      const replica = await pair.replica(target);
      const seeded = await pair.seed({ queued: 10 });
      // The replica gets nothing more unless a WAIT asks for it (support/replica.ts).
      replica.link('lagging');
      const proxy = await cutAtWaits(target, (n) => (cut as readonly number[]).includes(n));

      const move = await runCli('move', '--from', source.url, '--to', proxy.url, '--run-id', 'cut-wait-1');
      expect(proxy.cuts()).toBe(cut.length);
      expect(move.code).toBe(0);
      expect(move.stdout).toContain('Complete: everything that could be moved was moved');
      expect(await jobsIn(pair.client(source))).toEqual([]);
      expect(await jobsIn(pair.client(target))).toEqual(seeded);

      // The target fails over to its replica: it has what the move waited for. Before, the first
      // WAIT sent again had answered at once, the source had acknowledged, and the 10 jobs were gone.
      pair.dropClients();
      await replica.promote(target);
      expect(await jobsIn(replica.client)).toEqual(seeded);
      expect(await pair.client(source).keys('*sidekiq-migrate:*:inflight:*')).toEqual([]);
    });
  }

  it('every WAIT after a renewal cut, as long as it lasts: the run fails naming the target and the reopened connection, every job still on the source in flight; once the cuts stop, the same run finishes and a failover keeps them all', async () => {
    const { source, target } = pair.servers();
    const replica = await pair.replica(target);
    const seeded = await pair.seed({ queued: 10 });
    replica.link('lagging');
    // Each attempt: its WAIT cut, sent again and answered on a new connection (not believed), the
    // renewal written, its WAIT cut: the attempt fails.
    let cutting = true;
    const proxy = await cutAtWaits(target, (n) => cutting && n % 2 === 1);
    const connections = new UrlConnections({ source: { url: source.url }, target: { url: proxy.url } });
    const run = async () => {
      const executions = await runWorkflowLocally({ runId: 'cut-wait-2', mode: 'transfer', target: 'target' }, localTaskHandlers(connections), { retryIntervalMs: 0 });
      return combineSummaries(executions.filter((e) => e.output).map((e) => ({ executionArn: e.executionArn, summary: e.output as RunSummary })));
    };
    try {
      const failed = await run();
      expect(failed.complete).toBe(false);
      expect(failed.failures.length).toBeGreaterThan(0);
      for (const failure of failed.failures) {
        expect(failure.error).toContain(`Writing the jobs of queue:default to the target: the connection to the target ${proxy.url} was opened again after the writes, and a WAIT there does not wait for them; the source did not acknowledge them`);
      }
      const from = pair.client(source);
      const inflight = await from.keys('sidekiq-migrate:cut-wait-2:inflight:*');
      expect(inflight).toEqual(['sidekiq-migrate:cut-wait-2:inflight:queue:default']);
      expect((await from.lrangeBuffer(inflight[0]!, 0, -1)).map((p) => jobEntry('queue:default', p)).sort()).toEqual(seeded);

      cutting = false;
      const finished = await run();
      expect(finished.complete).toBe(true);
      expect(await jobsIn(from)).toEqual([]);
      expect(await jobsIn(pair.client(target))).toEqual(seeded);
    } finally {
      await connections.close();
    }
    pair.dropClients();
    await replica.promote(target);
    expect(await jobsIn(replica.client)).toEqual(seeded);
  });
});

describe('move from a source with a replica, its connection cut as the claim\'s WAIT is sent', { timeout: 120_000 }, () => {
  it('the WAIT sent again on the new connection is not believed: a renewal of the source lock is written there first; a failover of the source right after the move leaves every job once (in flight on the promoted source, finished by the next run), none twice', async () => {
    const { source: primary, target: other } = pair.servers();
    const sourceReplica = await pair.replica(primary);
    const cutProxy = await cutAtWaits(primary, (n) => n === 1);
    const seeded = await pair.seed({ queued: 10 });
    sourceReplica.link('lagging');

    const move = await runCli('move', '--from', cutProxy.url, '--to', other.url, '--run-id', 'cut-claim-1');
    expect(cutProxy.cuts()).toBe(1);
    expect(move.code).toBe(0);
    expect(move.stdout).toContain('Complete: everything that could be moved was moved');
    expect(await jobsIn(pair.client(other))).toEqual(seeded);

    // The source fails over to its replica, which has the claim (the acknowledge is not waited
    // for): the jobs are in flight there, not back on queue:default. Before, the replica had
    // nothing of the move, and the 10 jobs were on its queue and on the target both.
    await cutProxy.close();
    pair.dropClients();
    await sourceReplica.promote(primary);
    expect(await jobsIn(sourceReplica.client)).toEqual([]);
    const again = await runCli('move', '--from', sourceReplica.server.url, '--to', other.url, '--run-id', 'cut-claim-1');
    expect(again.code).toBe(0);
    expect(await jobsIn(pair.client(other))).toEqual(seeded);
    expect(await jobsIn(sourceReplica.client)).toEqual([]);
    expect(await sourceReplica.client.keys('*sidekiq-migrate:*:inflight:*')).toEqual([]);
  });
});
