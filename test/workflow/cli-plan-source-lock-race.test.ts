// The other race a plan's read of the locks cannot close (core/redis/lock-held-by-another.ts; the
// target's: test/redis/plan-lock-race.test.ts): another run takes the SOURCE's lock after the plan
// read both locks free and before its lock script runs there. The source's lock is the first one
// taken, so the script refuses the plan there: nothing taken, nothing written on either server,
// and `move` says the same words, with the same exit code, as when that lock was held before it
// started (cli-refused-move-touches-nothing.test.ts).
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { LuaScript } from '../../core/redis/lua-script.js';
import { bufferIo } from '../support/buffer-io.js';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { commandsDuring, writesAmong } from '../support/monitor-writes.js';
import { interfereWithConnections } from '../support/interfering-redis.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();

const acquireSha = new LuaScript('acquireRunLock-5').sha;
const LOCK = 'sidekiq-migrate:lock';
const holder = () => JSON.stringify({ runId: 'transfer-20261206-100000-beef', operation: 'transfer', host: 'elsewhere', pid: 4242, startedAt: '2026-12-06T10:00:00.000Z', plannedAt: 1796556000000, expiresAt: Date.now() + 600_000 });

/**
 * `move` from the source to the target, both as their snapshots were before it and the MONITORs
 * saw it; `race`: another run's lock SET on the source just before the plan's first lock script
 * there (after the plan's reads of both locks), by another client, not among the commands seen.
 */
async function refusedMove(race: boolean) {
  const before = { source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) };
  const io = bufferIo();
  // The other run: a client of its own, its commands told apart by its address.
  const other = new Redis(redis.urls().source, { lazyConnect: true });
  await other.connect();
  const unseen = /(?:^| )addr=(\S+)/.exec((await other.client('INFO')) as string)![1];
  let raced = false;
  let lockReadFirst = false;
  const handlersFor = (connections: Parameters<typeof localTaskHandlers>[0]) =>
    localTaskHandlers(
      interfereWithConnections(connections, async (call, name) => {
        if (!race || raced || name !== 'source' || !call.scripts.includes(acquireSha)) return;
        // The plan read the source's lock free: it is the race, not a lock there before.
        lockReadFirst = (await redis.source().exists(LOCK)) === 0;
        // As another run's plan would take it (its own client: left out of the commands seen).
        await other.set(LOCK, holder(), 'PX', 600_000);
        raced = true;
      }),
    );
  const { result: code, commands } = await commandsDuring({ source: redis.source(), target: redis.target() }, () => main(['node', 'sidekiq-migrate', 'move', '--from', redis.urls().source, '--to', redis.urls().target], io, handlersFor), unseen);
  other.disconnect();
  return { code, said: io.stdout() + io.stderr(), commands, before, raced, lockReadFirst };
}

const lockedWords = String.raw`source redis://127\.0\.0\.1:\d+ is locked by run transfer-20261206-100000-beef \(transfer, elsewhere pid 4242, started 2026-12-06T10:00:00\.000Z\); the lock expires in \d+ s unless that run renews it\. Wait for it, or stop it\.`;

/** What `move` said, its numbers (ports, seconds) blanked: the words compared across the two cases. */
const wordsOf = (said: string) => said.replace(/127\.0\.0\.1:\d+/g, 'HOST').replace(/expires in \d+ s/g, 'expires in N s');

describe("another run takes the source's lock between the plan's read of it and its lock script", () => {
  it('refused at the first lock: nothing taken, nothing written on either server, the same words and exit code as a lock held before the move', async () => {
    await redis.source().sadd('queues', 'a');
    await redis.source().lpush('queue:a', sidekiqPayload({ className: 'A', queue: 'a', args: '[1]' }), sidekiqPayload({ className: 'A', queue: 'a', args: '[2]' }));
    await redis.source().zadd('schedule', '1795459303.5', sidekiqPayload({ className: 'C', queue: 'a' }));
    await redis.target().rpush('queue:b', sidekiqPayload({ className: 'B', queue: 'b' }));

    const raced = await refusedMove(true);

    expect(raced.raced).toBe(true);
    expect(raced.lockReadFirst).toBe(true);
    expect(raced.code, raced.said).toBe(1);
    expect(raced.said).toMatch(new RegExp(lockedWords));
    // Both servers as they were, but for the other run's lock (its value exactly as it set it).
    const { [LOCK]: lock, ...source } = await keyValueSnapshot(redis.source());
    expect(source).toEqual(raced.before.source);
    expect(lock).toContain(Buffer.from('"runId":"transfer-20261206-100000-beef"').toString('hex'));
    expect(await keyValueSnapshot(redis.target())).toEqual(raced.before.target);
    // No command that writes reached either server, but the source's lock script that refused
    // the plan; the target's lock script never ran
    // (writing nothing: the snapshots say so), sent twice on a server that had not cached it (NOSCRIPT, then run).
    expect([...new Set(await writesAmong(redis.source(), raced.commands, 3))]).toEqual([`source evalsha ${acquireSha}`]);

    // The same move with that lock there before it: refused from the plan's reads, no script run.
    const held = await refusedMove(false);

    expect(held.code, held.said).toBe(1);
    expect(await writesAmong(redis.source(), held.commands, 3)).toEqual([]);
    expect(wordsOf(raced.said)).toBe(wordsOf(held.said));
  });
});
