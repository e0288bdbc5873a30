// A transfer's dry run of a set counts its entries slice by slice, one read a slice, with Sidekiq
// running between the slices: the poller taking the soonest entries (read already), the retry
// handler and the scheduler adding entries below the entries read so far. Read by rank (the
// entries counted so far) with no check, a removal skipped an entry of the next slice (counted too
// low) and an addition had the entry at a slice's end counted again (too high). Here the dry run's
// reads of the set run while a second client, between them (seeded), removes entries the dry run
// read already and adds entries sorting before the last one it read: every entry present at the
// start is then counted exactly once, the added ones never (they sort before where it stands), so
// the dry run's count is exactly the set's size at its start.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTransfer } from '../../../core/transfer/run-transfer.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { prng } from '../../support/seeded-random.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
let other: Redis;
beforeAll(() => {
  other = new Redis(redis.urls().source, { protocol: 2 });
});
afterAll(() => other.disconnect());

const NOW = 1_795_459_303;
const SEEDS = Number(process.env.RANDOM_TRIAL_SEEDS ?? 12);
const job = (id: number) => sidekiqPayload({ className: 'A', queue: 'default', args: `[${id}]` });

/**
 * `client` whose reads of `key` after the first run `between` first, those of a pipeline call by
 * call (Redis may run other clients between a pipeline's commands: made certain). `front` is the
 * first entry of the latest read that starts a slice's read (a pipeline's first call, a read by
 * rank, a BYSCORE call at offset 0): every entry that sorts before it was counted already (old
 * and new code alike start a slice's read at or before where the count stands).
 */
function hooked(client: Redis, key: string, between: () => Promise<void>, front: { member?: string; score?: number }): Redis {
  let calls = 0;
  const read = async (target: Redis, args: unknown[], startsRead: boolean): Promise<Buffer[]> => {
    if (String(args[0]) === key && calls++ > 0) await between();
    const reply = await (target.zrangeBuffer as (...a: unknown[]) => Promise<Buffer[]>).apply(target, args);
    if (String(args[0]) === key && startsRead && reply.length > 0) {
      front.member = reply[0]!.toString();
      front.score = Number(await other.zscore(key, front.member));
    }
    return reply;
  };
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'pipeline') {
        return (...pargs: unknown[]) => {
          const pipeline = (value as (...a: unknown[]) => ReturnType<Redis['pipeline']>).apply(target, pargs);
          const exec = pipeline.exec.bind(pipeline);
          pipeline.exec = async (...execArgs: Parameters<typeof exec>) => {
            const queued = (pipeline as unknown as { _queue: { name: string; args: unknown[] }[] })._queue;
            // Not a pipeline of reads of the set only (the pass's first look: its size and a probe): as it came.
            if (!queued.every((c) => c.name === 'zrange' && String(c.args[0]) === key)) return exec(...execArgs);
            const replies: [Error | null, unknown][] = [];
            for (const [i, c] of queued.entries()) replies.push([null, await read(target, c.args, i === 0)]);
            return replies;
          };
          return pipeline;
        };
      }
      if (prop !== 'zrangeBuffer') return value;
      return async (...args: unknown[]) => {
        const limit = args.findIndex((x) => String(x) === 'LIMIT');
        return read(target, args, limit < 0 || Number(args[limit + 1]) === 0);
      };
    },
  });
}

async function trial(seed: number): Promise<string | undefined> {
  const random = prng(seed);
  const source = redis.source();
  await source.flushall();
  const size = 400 + Math.floor(random() * 600);
  const seeding = source.pipeline();
  let at = NOW;
  for (let i = 0; i < size; i++) {
    seeding.zadd('schedule', String(at), job(i));
    if (random() < 0.85) at += 1 + Math.floor(random() * 3);
  }
  await seeding.exec();
  let added = 0;
  const front: { member?: string; score?: number } = {};
  /** How many of the soonest entries sort before `front` now: counted already. */
  const countedBelow = async () => (front.member === undefined ? 0 : ((await other.zrank('schedule', front.member)) ?? 0));
  const between = async () => {
    const actions = Math.floor(random() * 4);
    for (let a = 0; a < actions; a++) {
      const r = random();
      if (r < 0.6) {
        // The poller: the soonest entries, counted already; now and then many at once, more than
        // the margin a slice reads before where it stood (set-dry-run-read.ts).
        const n = Math.min(r < 0.05 ? 80 : 1, await countedBelow());
        if (n > 0) await other.zrem('schedule', ...(await other.zrange('schedule', '0', String(n - 1))));
      } else if (front.score !== undefined && front.score > NOW - 1_000) {
        // A retry or a scheduled job landing before where the dry run stands.
        await other.zadd('schedule', String(NOW - 1_000 + Math.floor(random() * (front.score - (NOW - 1_000)))), job(100_000 + added++));
      }
    }
  };
  const summary = await runTransfer({
    source: hooked(source, 'schedule', between, front),
    target: redis.target(),
    sourceKeys: new SidekiqKeys(''),
    targetKeys: new SidekiqKeys(''),
    runId: `dry-${seed}`,
    dryRun: true,
    sets: ['schedule'],
    queues: false,
    sliceSize: 50 + Math.floor(random() * 150),
  });
  const claimed = summary.totals.claimed;
  return claimed === size ? undefined : `seed ${seed}: counted ${claimed} of the ${size} entries present at the start (${added} added meanwhile)`;
}

describe('a transfer\'s dry run of a set while Sidekiq removes and adds entries between its slices', () => {
  it(`counts every entry present at its start exactly once (${SEEDS} seeds)`, async () => {
    const wrong: string[] = [];
    for (let seed = Number(process.env.FIRST_SEED ?? 1); seed <= SEEDS; seed++) {
      const w = await trial(seed);
      if (w) wrong.push(w);
    }
    expect(wrong).toEqual([]);
  }, 120_000);
});
