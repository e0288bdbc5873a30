// Sidekiq caps its dead set: each job that dies is added with a trim (DeadSet#kill: ZADD, then
// ZREMRANGEBYRANK dead 0 -dead_max_jobs, 10,000 unless configured), which leaves the newest
// 9,999. A move adds the source's dead entries to the target's with their old scores, and writes
// them with ZADD only (no trim): a target whose dead set then holds 10,000 or more loses the
// oldest of them, the moved entries first, when the next job dies there (real Sidekiq 6.4:
// 10,008 entries and one kill leave 9,999). The move said "Complete" and nothing more. It now says
// how many the next death drops (by the cap, or by age: entries past 180 days go in the same
// trim), and its verdict says so (its dry run, how many a run would leave there, the drops by the
// cap as a floor); below the cap, nothing is said.
import { describe, expect, it } from 'vitest';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();

const dead = (i: number) => sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]`, jid: i.toString(16).padStart(24, '0') });

const DAY = 86_400;

/**
 * `count` dead entries on the source, died 30 days ago, `aged` of them 200 days ago (past Sidekiq's
 * 180 days), and `onTarget` on the target, died yesterday: every one distinct.
 */
async function seed(count: number, onTarget: number, aged = 0): Promise<{ source: Map<string, string>; target: Map<string, string> }> {
  const now = Math.floor(Date.now() / 1000);
  const source = new Map<string, string>();
  const target = new Map<string, string>();
  for (let i = 0; i < count; i++) source.set(dead(i), String(now - (i < aged ? 200 : 30) * DAY + i));
  for (let i = 0; i < onTarget; i++) target.set(dead(100_000 + i), String(now - DAY + i));
  const put = async (client: ReturnType<typeof redis.source>, entries: Map<string, string>) => {
    const flat = [...entries].flatMap(([payload, score]) => [score, payload]);
    for (let i = 0; i < flat.length; i += 2000) await client.zadd('dead', ...flat.slice(i, i + 2000));
  };
  await put(redis.source(), source);
  await put(redis.target(), target);
  return { source, target };
}

async function deadOn(client: ReturnType<typeof redis.source>): Promise<string[]> {
  const flat = await client.zrange('dead', 0, '-1', 'WITHSCORES');
  const entries: string[] = [];
  for (let i = 0; i < flat.length; i += 2) entries.push(`${flat[i + 1]} ${flat[i]}`);
  return entries.sort();
}

const entriesOf = (...maps: Map<string, string>[]) => maps.flatMap((m) => [...m].map(([payload, score]) => `${score} ${payload}`)).sort();
const lastLine = (stdout: string) => stdout.trimEnd().split('\n').at(-1);

describe("a move that fills the target's dead set past Sidekiq's cap", { timeout: 180_000 }, () => {
  it('says how many entries the next death on the target drops, in Needs a look and in its verdict', async () => {
    const seeded = await seed(60, 9_950);

    const result = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target);

    expect(result.code).toBe(0);
    expect(await deadOn(redis.target())).toEqual(entriesOf(seeded.source, seeded.target));
    expect(await deadOn(redis.source())).toEqual([]);
    expect(result.stdout).toContain(
      "\nThe target's dead set now holds 10,010 entries: when the next job dies there, Sidekiq keeps only its newest 9,999 (dead_max_jobs, 10,000 unless configured), none older than 180 days (dead_timeout_in_seconds), and drops the oldest 12 (entries a move wrote there keep their old scores, so they go first). Retry or export the ones you need before then, or raise dead_max_jobs on the target's Sidekiq.\n",
    );
    expect(lastLine(result.stdout)).toBe("Complete: everything that could be moved was moved, but the next job that dies on the target drops the oldest 12 entries of its dead set (see \"Needs a look\" above).");

    const json = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ deadSetOverCap: { entries: 10_010, drops: 12 }, verdict: { state: 'complete' } });
  });

  it('with a live worker holding a job of the source in its private list: "Done, but" names it, and still says what the next death drops', async () => {
    const seeded = await seed(60, 9_950);
    const WORKING = 'working:queue:default:gitlab-sidekiq-1:4242:0a1b2c3d4e5f';
    const held = sidekiqPayload({ className: 'A', queue: 'default', args: '[0]', jid: 'ffffffffffffffffffffffff' });
    await redis.source().rpush(WORKING, held);
    await redis.source().set('reliable-fetcher-heartbeat-gitlab-sidekiq-1-4242-0a1b2c3d4e5f', '1', 'EX', 60);

    const result = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target);

    expect(result.code).toBe(0);
    expect(await deadOn(redis.target())).toEqual(entriesOf(seeded.source, seeded.target));
    expect(await deadOn(redis.source())).toEqual([]);
    expect(await redis.source().lrange(WORKING, 0, -1)).toEqual([held]);
    expect(lastLine(result.stdout)).toBe(
      `Done, but 1 job(s) are being worked on by live Sidekiq processes on the source (in their fetchers' private lists): ${WORKING} 1; drain-check tells when they are gone (see "Needs a look" above). The next job that dies on the target drops the oldest 12 entries of its dead set.`,
    );
  });

  it('counts the entries past 180 days, which the same trim drops, when they are more', async () => {
    const seeded = await seed(60, 9_950, 50);

    const result = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--json');

    expect(result.code).toBe(0);
    expect(await deadOn(redis.target())).toEqual(entriesOf(seeded.source, seeded.target));
    expect(JSON.parse(result.stdout)).toMatchObject({ deadSetOverCap: { entries: 10_010, drops: 50 } });
  });

  it('the dry run says it before anything is written: how many a run would leave there, and how many the next death would drop', async () => {
    const seeded = await seed(60, 9_950);

    const result = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--dry-run');

    expect(result.code).toBe(0);
    expect(await deadOn(redis.target())).toEqual(entriesOf(seeded.target));
    expect(await deadOn(redis.source())).toEqual(entriesOf(seeded.source));
    expect(result.stdout).toContain(
      "\nA run would leave the target's dead set with 10,010 entries: when the next job dies there, Sidekiq keeps only its newest 9,999 (dead_max_jobs, 10,000 unless configured), none older than 180 days (dead_timeout_in_seconds), and drops the oldest 12 at least (entries a move wrote there keep their old scores, so they go first). Retry or export the ones you need before then, or raise dead_max_jobs on the target's Sidekiq.\n",
    );
  });

  it('says nothing of it while the target stays below the cap', async () => {
    const seeded = await seed(60, 9_900);

    const dry = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--dry-run');
    expect(dry.stdout).not.toContain('dead_max_jobs');
    const result = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target);

    expect(result.code).toBe(0);
    expect(await deadOn(redis.target())).toEqual(entriesOf(seeded.source, seeded.target));
    expect(result.stdout).not.toContain('dead_max_jobs');
    expect(lastLine(result.stdout)).toBe('Complete: everything that could be moved was moved.');
  });
});
