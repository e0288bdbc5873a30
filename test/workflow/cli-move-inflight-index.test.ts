// The last summary of a transfer looks for in-flight keys on its target: those of an interrupted
// transfer OUT of it (the target was, or is, the source of another move: a shard moved back, a
// `move --classes` out of it). It found them with a SCAN of the target's whole keyspace: on a Redis
// of millions of other keys that ran past the summary's time (a thousand SCAN calls a million keys,
// bench/README.md audit-inflight) and said it was cut short, leaving operators without an answer.
// Now every claim names its in-flight key in its source's index (`sidekiq-migrate:inflight-keys`,
// core/transfer/inflight-index.ts) in the call that writes it, and the summary reads the index; a
// Redis whose index lacks the mark that one walk found every in-flight key there (keys of an older
// version, or an index lost) is walked, as before, and marked once a walk reached the end.
import { describe, expect, it } from 'vitest';
import { spawnCli as cli } from '../support/cli-child.js';
import { cliKilledAtCommand } from '../support/cli-killed-at-command.js';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { expireLocks } from '../support/lock-state.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { monitorCommands, unrelatedKeys } from '../support/shared-keyspace.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
const INDEX = 'sidekiq-migrate:inflight-keys';
const COMPLETE = 'Complete: everything that could be moved was moved.';
const LEFT = 'Done, but jobs were left behind: 2 in flight on the target from an interrupted transfer out of it (see "Needs a look" above).';

const jobs = (queue: string, n: number, from = 0) => Array.from({ length: n }, (_, i) => sidekiqPayload({ className: 'A', queue, args: `[${from + i}]` }));
const lastLine = (out: string) => out.trimEnd().split('\n').at(-1);
const heldLine = (out: string) => out.split('\n').find((l) => l.includes('in flight on the target'))?.trim();
const HELD = (dead: string) =>
  `2 job(s) in flight on the target, claimed there by an interrupted transfer out of it (sidekiq-migrate:${dead}:inflight:queue:b): no worker runs them and this run does not finish them. Run that transfer again (the same move from the target) to finish it; drain-check of the target counts them.`;
const inflightScans = (commands: string[][]) => commands.filter((c) => c[0]?.toLowerCase() === 'scan' && c.some((a) => a.includes(':inflight:')));

describe("the summary finds in-flight keys on the target in the target's index, not by walking its keyspace", { timeout: 300_000 }, () => {
  it('a transfer out of the target killed with jobs in flight there, the target holding 20,000 other keys: each later move into it names those jobs with the same words, reads the index (no SCAN for in-flight keys once marked), moves its own jobs once, and leaves no index on its source', async () => {
    const [source, target] = [redis.source(), redis.target()];
    const { source: from, target: to } = redis.urls();
    // The dead run: a move out of the target (to the source), killed before its first copy, its
    // first claim (two jobs of queue:b) in flight on the target.
    const back = jobs('b', 5);
    for (const p of back) await target.lpush('queue:b', p);
    await target.sadd('queues', 'b');
    const killed = await cliKilledAtCommand('^evalsha$', ['^sidekiq-migrate:transfer-[\\w-]+:ledger:queue:b$'], 'move', '--from', to, '--to', from, '--page-size', '2');
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    const dead = /"runId":"([\w-]+)"/.exec((await target.get('sidekiq-migrate:lock'))!)![1]!;
    const deadKey = `sidekiq-migrate:${dead}:inflight:queue:b`;
    expect(await target.llen(deadKey)).toBe(2);
    // Named in the target's index by the claim that wrote it; no mark yet.
    expect(await target.smembers(INDEX)).toEqual([deadKey]);
    await expireLocks(source, target);
    await unrelatedKeys(target, 20_000);

    const args = ['move', '--from', from, '--to', to, '--page-size', '2'];
    // A move into it: the index has no mark (no walk found every in-flight key there yet): walked once, and marked.
    const first = jobs('a', 3);
    for (const p of first) await source.lpush('queue:a', p);
    await source.sadd('queues', 'a');
    const warm = await cli(...args);
    expect(heldLine(warm.stdout), warm.stdout + warm.stderr).toBe(HELD(dead));
    expect(lastLine(warm.stdout)).toBe(LEFT);
    expect(warm.code).toBe(0);
    expect((await target.smembers(INDEX)).sort()).toEqual([deadKey, 'walked']);
    // The source's index named this run's in-flight key while it held jobs; all acknowledged, it names nothing: no key left.
    expect(await source.exists(INDEX)).toBe(0);

    const second = jobs('a', 4, 100);
    for (const p of second) await source.lpush('queue:a', p);
    const seen = await monitorCommands(to);
    const again = await cli(...args);
    const commands = seen.stop();

    expect(heldLine(again.stdout), again.stdout + again.stderr).toBe(HELD(dead));
    expect(lastLine(again.stdout)).toBe(LEFT);
    expect(again.code).toBe(0);
    expect(await jobsIn(source)).toEqual([]);
    const onTarget = (await jobsIn(target)).filter((k) => !k.startsWith('cache:'));
    expect(onTarget).toEqual([...[...first, ...second].map((p) => jobEntry('queue:a', p)), ...back.slice(0, 3).map((p) => jobEntry('queue:b', p))].sort());
    expect(await target.lrange(deadKey, 0, -1)).toEqual(back.slice(3).reverse());
    // Read from the index; the target's keyspace never walked for in-flight keys.
    expect(commands.filter((c) => c[0]?.toLowerCase() === 'smembers' && c[1] === INDEX).length).toBe(1);
    expect(inflightScans(commands)).toEqual([]);
    expect(await source.exists(INDEX)).toBe(0);
  });

  it('an in-flight key no index names (an older version claimed it) on a marked target is not trusted away: an index lost (deleted) makes the next summary walk again, find both, name them, and mark it', async () => {
    const [source, target] = [redis.source(), redis.target()];
    const { source: from, target: to } = redis.urls();
    const args = ['move', '--from', from, '--to', to, '--page-size', '2'];
    const first = jobs('a', 2);
    for (const p of first) await source.lpush('queue:a', p);
    await source.sadd('queues', 'a');
    const warm = await cli(...args);
    expect(lastLine(warm.stdout), warm.stdout + warm.stderr).toBe(COMPLETE);
    expect(await target.smembers(INDEX)).toEqual(['walked']);
    // An older version's claim out of the target: its in-flight key, named in no index; and the
    // index lost with it (deleted by hand, or the target restored from a snapshot without it).
    const old = jobs('c', 2);
    const oldKey = 'sidekiq-migrate:older-run:inflight:queue:c';
    await target.rpush(oldKey, ...old);
    await target.del(INDEX);

    const second = jobs('a', 2, 100);
    for (const p of second) await source.lpush('queue:a', p);
    const seen = await monitorCommands(to);
    const again = await cli(...args);
    const commands = seen.stop();

    expect(heldLine(again.stdout), again.stdout + again.stderr).toBe(
      '2 job(s) in flight on the target, claimed there by an interrupted transfer out of it (sidekiq-migrate:older-run:inflight:queue:c): no worker runs them and this run does not finish them. Run that transfer again (the same move from the target) to finish it; drain-check of the target counts them.',
    );
    expect(lastLine(again.stdout)).toBe(LEFT);
    expect(again.code).toBe(0);
    expect(inflightScans(commands).length).toBeGreaterThan(0);
    expect((await target.smembers(INDEX)).sort()).toEqual([oldKey, 'walked']);
    expect((await jobsIn(target)).filter((k) => k.startsWith('queue:a'))).toEqual([...first, ...second].map((p) => jobEntry('queue:a', p)).sort());
  });
});
