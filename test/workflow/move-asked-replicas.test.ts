// `move --from-replicas N` / `--to-replicas N`: a Redis behind a proxy that hides its replicas
// (Redis Enterprise's reports none in INFO, as some managed services do) got no WAIT at all, so a
// failover there right after a slice could undo its claim (duplicates) or lose its copy (lost
// jobs). The operator can now say how many replicas there are: each WAIT asks for at least that
// many (never fewer than INFO reports), and one that comes short fails the slice retryably, named,
// nothing acknowledged. A proxy that refuses WAIT itself stops the run before anything is claimed.
// Before: `move` refused both options as unknown (exit 2), and no WAIT was ever sent there.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobsIn, keysUnder } from '../support/exact-jobs.js';
import { type RedisServerHandle, startRedisServers } from '../support/redis-server.js';
import { replicatedPair } from '../support/replicated-pair.js';
import { runCli } from '../support/run-cli.js';

const pair = replicatedPair();

describe('move --from-replicas / --to-replicas', { timeout: 120_000 }, () => {
  for (const side of ['target', 'source'] as const) {
    it(`asking for 2 replicas of the ${side}, which has 1: every slice fails retryably naming the option, nothing acknowledged; run again asking for 1, the move is Complete, each job once`, async () => {
      const { source, target } = pair.servers();
      const targetReplica = await pair.replica(target);
      await pair.replica(source);
      const seeded = await pair.seed({ queued: 20, retrying: 5 });
      const server = side === 'target' ? target : source;
      const option = side === 'target' ? '--to-replicas' : '--from-replicas';
      // Commands time out after 4 s, so WAIT gives the replicas 0.5 s (replica-wait.ts); no backoff between retries.
      const { summary } = await pair.transfer({ runId: 'asked-1', [side === 'target' ? 'toReplicas' : 'fromReplicas']: 2 });

      expect(summary.complete).toBe(false);
      expect(summary.failures.length).toBe(2); // queue:default and retry
      for (const failure of summary.failures) {
        expect(failure.error).toContain(`only 1 of the 2 replica(s) of the ${side} ${server.url} (2 asked for with ${option}; it reports 1: if it has fewer, move the rest as a new run with a lower ${option}) confirmed the writes within 0.5 s (WAIT)`);
      }
      // Nothing acknowledged: every job in flight on the source; a source that came short had nothing copied.
      expect(await jobsIn(pair.client(source))).toEqual([]);
      expect(await pair.inFlight('asked-1')).toEqual(seeded);
      if (side === 'source') expect(await jobsIn(pair.client(target))).toEqual([]);

      // The same run with the count the Redis has: refused, the count is the run's (asked-replicas.ts).
      const refused = await runCli('move', '--from', source.url, '--to', target.url, '--run-id', 'asked-1', option, '1');
      expect(refused.code).toBe(2);
      expect(refused.stderr.trim().split('\n')).toEqual([expect.stringContaining(`Run asked-1 was started with ${option} 2; this command asks for ${option} 1 where it was started with ${option} 2.`)]);
      expect(await pair.inFlight('asked-1')).toEqual(seeded);
      // A new run with the count the Redis has finishes asked-1's slices first, through its ledger, writing none twice.
      const again = await runCli('move', '--from', source.url, '--to', target.url, '--run-id', 'asked-1b', option, '1');
      expect(again.stdout).toContain('Complete');
      expect(again.code).toBe(0);
      expect(await jobsIn(pair.client(target))).toEqual(seeded);
      expect(await jobsIn(pair.client(source))).toEqual([]);
      expect(await pair.inFlight('asked-1')).toEqual([]);
      // The replica of the target has every job (the WAIT asked for it): a failover there loses none.
      pair.dropClients(); // none left to reconnect to the killed primary
      await targetReplica.promote(target);
      expect(await jobsIn(targetReplica.client)).toEqual(seeded);
    });
  }

  it('asking for 1 replica of a server that reports none (what a hiding proxy shows): the WAIT is sent, comes short, and the slice fails retryably naming --to-replicas', async () => {
    const { source, target } = pair.servers();
    const seeded = await pair.seed({ queued: 20, retrying: 5 });
    const { summary } = await pair.transfer({ runId: 'asked-2', toReplicas: 1 });
    expect(summary.complete).toBe(false);
    expect(summary.failures.map((f) => f.error)).toEqual([0, 1].map(() => expect.stringContaining(`only 0 of the 1 replica(s) of the target ${target.url} (1 asked for with --to-replicas; it reports 0: if it has fewer, move the rest as a new run with a lower --to-replicas) confirmed the writes`)));
    expect(await jobsIn(pair.client(source))).toEqual([]);
    expect(await pair.inFlight('asked-2')).toEqual(seeded);
  });

  it('asking for 1 replica each side, where each has its replica: Complete, each job once on the target and on its replica', async () => {
    const { source, target } = pair.servers();
    const replicas = [await pair.replica(target), await pair.replica(source)];
    const seeded = await pair.seed({ queued: 20, retrying: 5 });
    // Lagging links: a replica has a write only once a WAIT asked for it.
    for (const r of replicas) r.link('lagging');
    const move = await runCli('move', '--from', source.url, '--to', target.url, '--run-id', 'asked-3', '--from-replicas', '1', '--to-replicas', '1');
    expect(move.stdout).toContain('Complete');
    expect(move.code).toBe(0);
    expect(await jobsIn(pair.client(target))).toEqual(seeded);
    expect(await jobsIn(pair.client(source))).toEqual([]);
    pair.dropClients();
    await replicas[0]!.promote(target);
    expect(await jobsIn(replicas[0]!.client)).toEqual(seeded);
  });

  it('a target that refuses WAIT (a proxy: unknown command): exit 2 before anything is claimed, naming --to-replicas to drop; nothing touched', async () => {
    const { source } = pair.servers();
    // A target of its own: one that refuses WAIT.
    const [target] = (await startRedisServers(['--rename-command', 'WAIT', ''])) as [RedisServerHandle];
    pair.afterTest(() => target.stop());
    const seeded = await pair.seed({ queued: 20, retrying: 5 });
    const keysBefore = await keysUnder(pair.client(source));
    const move = await runCli('move', '--from', source.url, '--to', target.url, '--run-id', 'asked-4', '--to-replicas', '1');
    expect(move.code).toBe(2);
    expect(move.stdout).toBe('');
    expect(move.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^.*--to-replicas 1: the target ${target.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} refuses WAIT \\(ERR unknown command .*Drop --to-replicas .*Nothing was touched\\.$`)),
    ]);
    expect(await jobsIn(pair.client(source))).toEqual(seeded);
    expect(await keysUnder(pair.client(source))).toEqual(keysBefore);
    expect(await keysUnder(pair.client(target))).toEqual([]);
  });

  for (const [args, message] of [
    [['--to-replicas', '0'], '--to-replicas: the replica count must be positive'],
    [['--from-replicas', 'two'], '--from-replicas: the replica count must be a whole number in decimal digits, not "two"'],
    [['--to-replicas', '101'], '--to-replicas: the replica count must be at most 100'],
  ] as const) {
    it(`${args.join(' ')}: exit 2 with one message, nothing touched`, async () => {
      const { source, target } = pair.servers();
      const seeded = await pair.seed({ queued: 20, retrying: 5 });
      const keysBefore = await keysUnder(pair.client(source));
      const move = await runCli('move', '--from', source.url, '--to', target.url, ...args);
      expect(move.code).toBe(2);
      expect(move.stdout).toBe('');
      expect(move.stderr.trim().split('\n')).toEqual([expect.stringContaining(message)]);
      expect(await jobsIn(pair.client(source))).toEqual(seeded);
      expect(await keysUnder(pair.client(source))).toEqual(keysBefore);
      expect(await keysUnder(pair.client(target))).toEqual([]);
    });
  }

  it('the config file: toReplicas 0 and fromReplicas x exit 2, every problem named with the file and key, nothing touched', async () => {
    const { source, target } = pair.servers();
    const seeded = await pair.seed({ queued: 20, retrying: 5 });
    const keysBefore = await keysUnder(pair.client(source));
    const dir = mkdtempSync(join(tmpdir(), 'asked-replicas-'));
    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, `from: ${source.url}\nto: ${target.url}\ntoReplicas: 0\nfromReplicas: x\n`);
    const refused = await runCli('--config', bad, 'move', '--run-id', 'asked-5');
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain(`${bad}: toReplicas: the replica count must be positive`);
    expect(refused.stderr).toContain(`${bad}: fromReplicas: the replica count must be a whole number in decimal digits, not "x"`);
    expect(await jobsIn(pair.client(source))).toEqual(seeded);
    expect(await keysUnder(pair.client(source))).toEqual(keysBefore);
    expect(await keysUnder(pair.client(target))).toEqual([]);
  });
});
