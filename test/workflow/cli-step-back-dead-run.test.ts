// A shard move's step back (move --from SHARD --to MAIN) while the step there (move --from MAIN
// --to SHARD) is dead: its process was killed holding the run lock on both Redis servers, with
// jobs in flight on MAIN. The step back found that run's lock on its own ends, took the dead
// run's id as if it resumed it ("Resuming run …"), and moved the other way under it: it did not
// finish the dead run (its jobs stayed in flight on MAIN, where no worker reads them) and wrote its
// own in-flight keys and ledgers under an id that already had some on both servers.
import { spawn } from 'node:child_process';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { jobEntry, jobsIn, keyValueSnapshot } from '../support/exact-jobs.js';
import { repoPath } from '../support/paths.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { waitUntil } from '../support/wait-until.js';
import { untilChildProgress } from '../support/child-progress.js';

const redis = privateSourceAndTarget();
const last = (text: string) => text.trimEnd().split('\n').at(-1);

describe('a step back while the step there died holding its locks', () => {
  it('is refused, touching nothing, naming the dead run and how to finish it; the step there then resumes it and the step back runs', { timeout: 120_000 }, async () => {
    const [main, shard] = [redis.source(), redis.target()];
    const { source: mainUrl, target: shardUrl } = redis.urls();
    const forward = Array.from({ length: 3000 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'a', args: `[${i}]` }));
    const back = [1, 2, 3].map((i) => sidekiqPayload({ className: 'B', queue: 'b', args: `[${i}]` }));
    await main.sadd('queues', 'a');
    await main.lpush('queue:a', ...forward);
    await shard.sadd('queues', 'b');
    await shard.lpush('queue:b', ...back);

    // The step there, killed while a slice it claimed on main waits to be written to the shard
    // (the shard's writes paused): it leaves its lock on both and jobs in flight on main.
    const child = spawn(process.execPath, [repoPath('bin/sidekiq-migrate.js'), 'move', '--from', mainUrl, '--to', shardUrl, '--page-size', '5'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    await untilChildProgress(child, 'the step there moved jobs', async () => (await shard.llen('queue:a')) > 0);
    try {
      const inflight = await claimedNotWritten(shard, main);
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      const dead = inflight.split(':')[1]!;
      await shard.client('UNPAUSE');

      const before = { main: await keyValueSnapshot(main), shard: await keyValueSnapshot(shard) };
      const refused = await runCli('move', '--from', shardUrl, '--to', mainUrl);

      expect(refused.code).toBe(1);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).not.toContain('Resuming');
      const held = await main.llen(inflight);
      expect(refused.stderr).toBe(
        `Run ${dead}, a transfer from ${mainUrl} to ${shardUrl} whose process on this machine is gone, still holds the run lock on both (${held} job(s) of it in flight on ${mainUrl}, where no worker runs them). ` +
          `This move goes the other way and would not finish it. Finish that run first by running its move again (sidekiq-migrate move --from ${mainUrl} --to ${shardUrl}: it resumes ${dead}), then this one. Nothing was touched.\n`,
      );
      expect({ main: await keyValueSnapshot(main), shard: await keyValueSnapshot(shard) }).toEqual(before);
      // Given the dead run's id, the step back is refused too, before it takes any lock.
      const named = await runCli('move', '--from', shardUrl, '--to', mainUrl, '--run-id', dead);
      expect(named.code).toBe(2);
      expect(named.stderr).toBe(
        `Run ${dead} is an unfinished run that started from the target ${mainUrl} (its executions are recorded there); this transfer goes from ${shardUrl} to it, the other way, and cannot resume it. ` +
          `Finish that run with its own move (from ${mainUrl}), or give this one another run id. Nothing was touched.\n`,
      );
      expect({ main: await keyValueSnapshot(main), shard: await keyValueSnapshot(shard) }).toEqual(before);

      // The step there, run again, resumes the dead run and finishes it.
      const resumed = await runCli('move', '--from', mainUrl, '--to', shardUrl);
      expect(resumed.stderr).toContain(`Resuming run ${dead}, whose process on this machine is gone.`);
      expect(resumed.code).toBe(0);
      expect(last(resumed.stdout)).toMatch(/^Complete/);
      expect(await jobsIn(main)).toEqual([]);
      expect(await jobsIn(shard)).toEqual([...forward.map((p) => jobEntry('queue:a', p)), ...back.map((p) => jobEntry('queue:b', p))].sort());

      // Now the step back runs, under a new id, and everything is on main once.
      const stepBack = await runCli('move', '--from', shardUrl, '--to', mainUrl);
      expect(stepBack.stderr).not.toContain('Resuming');
      expect(stepBack.code).toBe(0);
      expect(last(stepBack.stdout)).toMatch(/^Complete/);
      expect(await jobsIn(shard)).toEqual([]);
      expect(await jobsIn(main)).toEqual([...forward.map((p) => jobEntry('queue:a', p)), ...back.map((p) => jobEntry('queue:b', p))].sort());
    } finally {
      child.kill('SIGKILL');
      await shard.client('UNPAUSE').catch(() => undefined);
    }
  });
});

describe('a step back of a selective move (a shard runbook) while the step there died holding its locks', () => {
  it('names the command that resumes the dead run with its classes, and that command finishes it: each job once, the other class untouched', { timeout: 120_000 }, async () => {
    const [main, shard] = [redis.source(), redis.target()];
    const { source: mainUrl, target: shardUrl } = redis.urls();
    // A's jobs move to the shard; C's share queue a and stay on main.
    const moving = Array.from({ length: 3000 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'a', args: `[${i}]` }));
    const staying = Array.from({ length: 300 }, (_, i) => sidekiqPayload({ className: 'C', queue: 'a', args: `[${i}]` }));
    await main.sadd('queues', 'a');
    for (let i = 0; i < staying.length; i++) await main.lpush('queue:a', ...moving.slice(i * 10, i * 10 + 10), staying[i]!);

    const child = spawn(process.execPath, [repoPath('bin/sidekiq-migrate.js'), 'move', '--from', mainUrl, '--to', shardUrl, '--classes', 'A', '--page-size', '5'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    await untilChildProgress(child, 'the step there moved jobs', async () => (await shard.llen('queue:a')) > 0);
    try {
      const inflight = await claimedNotWritten(shard, main);
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      const dead = inflight.split(':')[1]!;
      await shard.client('UNPAUSE');

      const before = { main: await keyValueSnapshot(main), shard: await keyValueSnapshot(shard) };
      const refused = await runCli('move', '--from', shardUrl, '--to', mainUrl, '--classes', 'A');
      expect(refused.code).toBe(1);
      const held = await main.llen(inflight);
      // Its move again without its classes would be refused in turn (another selection): the command named carries them.
      expect(refused.stderr).toBe(
        `Run ${dead}, a transfer from ${mainUrl} to ${shardUrl} whose process on this machine is gone, still holds the run lock on both (${held} job(s) of it in flight on ${mainUrl}, where no worker runs them). ` +
          `This move goes the other way and would not finish it. Finish that run first by running its move again (sidekiq-migrate move --from ${mainUrl} --to ${shardUrl}, with the routing and classes it was started with: it resumes ${dead}), then this one. Nothing was touched.\n`,
      );
      expect({ main: await keyValueSnapshot(main), shard: await keyValueSnapshot(shard) }).toEqual(before);

      const resumed = await runCli('move', '--from', mainUrl, '--to', shardUrl, '--classes', 'A');
      expect(resumed.stderr).toContain(`Resuming run ${dead}, whose process on this machine is gone.`);
      expect(resumed.code).toBe(0);
      expect(last(resumed.stdout)).toMatch(/^Complete/);
      expect(await jobsIn(main)).toEqual(staying.map((p) => jobEntry('queue:a', p)).sort());
      expect(await jobsIn(shard)).toEqual(moving.map((p) => jobEntry('queue:a', p)).sort());

      const stepBack = await runCli('move', '--from', shardUrl, '--to', mainUrl, '--classes', 'A');
      expect(stepBack.code).toBe(0);
      expect(last(stepBack.stdout)).toMatch(/^Complete/);
      expect(await jobsIn(shard)).toEqual([]);
      expect(await jobsIn(main)).toEqual([...moving, ...staying].map((p) => jobEntry('queue:a', p)).sort());
    } finally {
      child.kill('SIGKILL');
      await shard.client('UNPAUSE').catch(() => undefined);
    }
  });
});

/**
 * Pauses the shard's writes until a slice is caught between its claim on main and its write to the
 * shard: the run's write waits on the paused shard (a client there blocked, CLIENT LIST flag `b`)
 * and, read after that, its jobs are in flight on main. Seeing jobs in flight is not enough: a
 * slice whose write landed just before the pause is acknowledged (its in-flight list emptied) a
 * moment later, and the run then blocks on the next page's lock renewal with nothing in flight.
 * A pause that caught nothing is lifted to try again once the run moved on.
 * Returns the in-flight key, with the shard's writes still paused.
 */
async function claimedNotWritten(shard: Redis, main: Redis): Promise<string> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const moved = await shard.llen('queue:a');
    await shard.client('PAUSE', 60_000, 'WRITE');
    const found = await waitUntil('the run blocked on the shard with jobs in flight on main', async () => {
      const blocked = String(await shard.client('LIST')).split('\n').some((line) => /\bflags=\S*b/.test(line));
      if (!blocked) return false;
      const [key] = await main.keys('sidekiq-migrate:*:inflight:queue:a');
      return key !== undefined && (await main.llen(key)) > 0 && key;
    }, { timeoutMs: 2_000 }).catch(() => undefined);
    // Both seen at once can still be the previous slice's acknowledgement on its way to main while
    // the next page's renewal blocks (the final CI of stop 53: the list was empty by the refusal).
    // Blocked on the shard, the run cannot empty it later: read it again after such an ack lands.
    if (found && (await settled(shard, main, found))) return found;
    await shard.client('UNPAUSE');
    await waitUntil('the step there moved on', async () => (await shard.llen('queue:a')) > moved);
  }
  throw new Error('no slice caught between its claim and its write in 20 attempts');
}

async function settled(shard: Redis, main: Redis, inflight: string): Promise<boolean> {
  await new Promise((resolve) => setTimeout(resolve, 500));
  const blocked = String(await shard.client('LIST')).split('\n').some((line) => /\bflags=\S*b/.test(line));
  return blocked && (await main.llen(inflight)) > 0;
}
