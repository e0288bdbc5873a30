// A set page read by score sends its ZRANGE BYSCORE calls at once (score-walk-read.ts) and keeps
// each only if it starts with the entry the kept one before it ended with. Redis may run other
// clients between them. set-walk-round-trips.test.ts shifts an offset by one to stand for that;
// here the calls really run one by one (the pipeline hooked) while a second client removes, adds
// and reschedules entries between them, at random (seeded: a failing seed replays exactly):
// below, at and above the entry two calls share, inside groups of equal scores (one spanning
// calls), below the walk's bound; pages of sizes that are not multiples of 200, and pages cut
// small by large payloads (page-bytes.ts). Every job ends exactly once, in the set or taken by
// the other client; each one nobody touched rewritten with its score; moves counted as made.
// (With the contiguity check taken out, entries removed below a call's offset skip others: this
// fails on its first seed.)
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { rerouteSet } from '../../../core/reroute/set-page.js';
import { classRoutingPlan } from '../../../core/routing/routing-plan.js';
import { withQueue } from '../../support/exact-jobs.js';
import { connectShared, uniquePrefix } from '../../support/redis.js';
import { prng } from '../../support/seeded-random.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const redis = connectShared();
/** The other client: Sidekiq's poller, a retry handler, the API's reschedule. */
const other = connectShared();
const NOW = 1795459303;
const SEEDS = Number(process.env.RANDOM_TRIAL_SEEDS ?? 16);

/** One ZRANGE BYSCORE call of a read, as queued in its pipeline. */
interface ReadCall {
  readonly key: string;
  readonly min: string;
  readonly offset: number;
}

type Queued = { name: string; args: unknown[] };
const isByScore = (c: Queued) => c.name === 'zrange' && c.args.some((a) => String(a) === 'BYSCORE');

/**
 * `client` whose pipelines of ZRANGE BYSCORE calls (a walk's read) run call by call, `between`
 * awaited before each call after the first: what Redis may do when it runs another client between
 * a pipeline's commands, made certain. Every other pipeline and command goes as it came.
 */
function interleavedReads(client: Redis, between: (next: ReadCall) => Promise<void>): Redis {
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== 'pipeline') return value;
      return (...args: unknown[]) => {
        const pipeline = (value as (...a: unknown[]) => ReturnType<Redis['pipeline']>).apply(target, args);
        const exec = pipeline.exec.bind(pipeline);
        pipeline.exec = async (...execArgs: Parameters<typeof exec>) => {
          const queued = (pipeline as unknown as { _queue: Queued[] })._queue;
          if (!queued.some(isByScore)) return exec(...execArgs);
          if (!queued.every(isByScore)) throw new Error('a pipeline of ZRANGE BYSCORE calls and other commands: this test does not know it');
          const replies: [Error | null, unknown][] = [];
          for (const [i, c] of queued.entries()) {
            const a = c.args.map((x) => (Buffer.isBuffer(x) ? x.toString() : String(x)));
            if (i > 0) await between({ key: a[0]!, min: a[1]!, offset: Number(a[a.indexOf('LIMIT') + 1]) });
            try {
              replies.push([null, await (target.zrangeBuffer as (...x: unknown[]) => Promise<Buffer[]>).apply(target, c.args)]);
            } catch (error) {
              replies.push([error as Error, null]);
            }
          }
          return replies;
        };
        return pipeline;
      };
    },
  });
}

const idOf = (payload: string): number => (JSON.parse(payload) as { args: [number] }).args[0];

async function trial(seed: number): Promise<{ reads: number }> {
  const random = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const keys = new SidekiqKeys(uniquePrefix());
  const key = keys.sortedSet(pick(['schedule', 'retry', 'dead'] as const));
  // Large payloads cut a page to fewer than `count` entries (1 MiB a page: ~350 at 3 KB).
  const pad = 'x'.repeat(pick([0, 0, 3_000, 9_000]));
  const count = pick([1_000, 437, 601, 250, 999, 1_000]);
  const payloadOf = (id: number) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${id},"${pad}"]`, jid: `jid-${seed}-${id}` });

  // Scores: mostly distinct, groups of equal scores here and there, one of 300 (spans calls).
  const score = new Map<number, string>();
  const touched = new Set<number>();
  let next = 0;
  let at = NOW;
  const seeding = redis.pipeline();
  const size = 1_500 + Math.floor(random() * 1_500);
  const bigAt = Math.floor(random() * size);
  while (next < size) {
    const group = next === bigAt ? 300 : random() < 0.8 ? 1 : 2 + Math.floor(random() * 8);
    for (let g = 0; g < group; g++, next++) {
      score.set(next, String(at));
      seeding.zadd(key, String(at), payloadOf(next));
    }
    at += 1 + Math.floor(random() * 3);
  }
  await seeding.exec();
  const seeded = next;
  const taken: string[] = [];
  let reads = 0;

  /** The entry `offset` places above `min` now (member, score), if any. */
  const entryAt = async (read: ReadCall, offset: number): Promise<[string, string] | undefined> => {
    const [member, s] = await other.zrange(read.key, read.min, '+inf', 'BYSCORE', 'LIMIT', Math.max(0, offset), 1, 'WITHSCORES');
    return member === undefined ? undefined : [member, s!];
  };
  const remove = async (member: string) => {
    if ((await other.zrem(key, member)) === 1) {
      taken.push(member);
      touched.add(idOf(member));
    }
  };
  /** Somewhere around the call about to run: below the entry it shares with the call before, on it, or above it. */
  const around = (read: ReadCall) => pick([Math.floor(random() * read.offset), read.offset, read.offset + 1 + Math.floor(random() * 200)]);

  const between = async (read: ReadCall) => {
    reads++;
    // Often nothing: a read's calls then all kept, as most are.
    for (let n = random() < 0.4 ? 1 + Math.floor(random() * 3) : 0; n > 0; n--) {
      const what = random();
      if (what < 0.2) {
        // The poller: the soonest entry (often below the walk's bound: moved already, or not).
        const [lowest] = await other.zrange(key, '0', '0');
        if (lowest !== undefined) await remove(lowest);
      } else if (what < 0.45) {
        const found = await entryAt(read, around(read));
        if (found) await remove(found[0]);
      } else if (what < 0.75) {
        // A new job: beside an entry (same score, sorting before or after it by its bytes), between two scores, or below the bound.
        const found = await entryAt(read, around(read));
        const s = found === undefined ? String(at + 5) : pick([found[1], found[1], `${found[1]}.5`, String(NOW - 10)]);
        const id = next++;
        score.set(id, s);
        touched.add(id);
        await other.zadd(key, s, payloadOf(id));
      } else {
        // Rescheduled in place (Sidekiq's SortedEntry#reschedule): to another score, or to another entry's.
        const found = await entryAt(read, around(read));
        if (found === undefined) continue;
        const to = random() < 0.5 ? String(Number(found[1]) + pick([-40, -3, -1, 1, 2, 50])) : ((await entryAt(read, around(read)))?.[1] ?? found[1]);
        if ((await other.zadd(key, 'XX', 'CH', to, found[0])) === 1 || to === found[1]) {
          score.set(idOf(found[0]), to);
          touched.add(idOf(found[0]));
        }
      }
    }
  };

  const run = await rerouteSet({
    redis: interleavedReads(redis, between),
    keys,
    set: key.endsWith('schedule') ? 'schedule' : key.endsWith('retry') ? 'retry' : 'dead',
    plan: classRoutingPlan(new Map([['A', 'a']])),
    count,
    dryRun: false,
    recordMovesAs: { runId: `walk-mix-${seed}` },
  });

  const label = `seed ${seed} (count ${count}, payload +${pad.length} bytes, ${seeded} seeded, ${next - seeded} added)`;
  expect(run.done, label).toBe(true);
  const flat = await redis.zrange(key, 0, '-1', 'WITHSCORES');
  const left = new Map<number, { member: string; score: string }[]>();
  for (let i = 0; i < flat.length; i += 2) {
    const id = idOf(flat[i]!);
    left.set(id, [...(left.get(id) ?? []), { member: flat[i]!, score: flat[i + 1]! }]);
  }
  const gone = new Map<number, string[]>();
  for (const member of taken) gone.set(idOf(member), [...(gone.get(idOf(member)) ?? []), member]);
  let rewrites = 0;
  for (let id = 0; id < next; id++) {
    const here = left.get(id) ?? [];
    const away = gone.get(id) ?? [];
    // Exactly once, in the set or taken, as it was or rewritten.
    expect(here.length + away.length, `${label}: job ${id}`).toBe(1);
    const member = here[0]?.member ?? away[0]!;
    const moved = withQueue(payloadOf(id), 'old', 'a');
    expect([payloadOf(id), moved], `${label}: job ${id}`).toContain(member);
    if (member === moved) rewrites++;
    if (here.length === 1) expect(here[0]!.score, `${label}: job ${id}'s score`).toBe(String(Number(score.get(id))));
    // Nobody touched it: the walk moved it, exactly once.
    if (!touched.has(id)) expect(member, `${label}: job ${id}, untouched, not moved`).toBe(moved);
  }
  expect(run.counters, label).toMatchObject({ moved: rewrites, alreadyRouted: 0, conflicts: 0 });
  expect(run.counters.scanned, label).toBe(run.counters.moved + run.counters.vanished);
  await redis.unlink(key);
  return { reads };
}

describe('a set walked by score while another client changes it between the calls of a read', () => {
  it(`every job exactly once, the untouched moved with their scores, moves counted as made (${SEEDS} seeds)`, async () => {
    let reads = 0;
    for (let seed = 1; seed <= SEEDS; seed++) reads += (await trial(seed)).reads;
    // The hook ran: reads had calls after their first, and the other client acted between them.
    expect(reads).toBeGreaterThan(SEEDS);
  });
});
