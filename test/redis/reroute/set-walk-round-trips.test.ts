// A set page read by score (set-page.ts walkSetCalls) waits on one round trip for its reads, not
// one per ZRANGE BYSCORE call of 200 (issue #18: ~5 a page of 1,000 at +0.5 ms), and its calls,
// sent at once, are kept only as far as they are contiguous (score-walk-read.ts): an entry removed
// or added below a call's offset between the calls must not skip or repeat an entry.
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { MAX_ENTRIES_PER_SCAN_CALL } from '../../../core/redis/page-bytes.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { rerouteSet } from '../../../core/reroute/set-page.js';
import { classRoutingPlan } from '../../../core/routing/routing-plan.js';
import { withQueue } from '../../support/exact-jobs.js';
import { connectShared, uniquePrefix } from '../../support/redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const redis = connectShared();
const NOW = 1795459303;

interface Sent {
  readonly name: string;
  readonly args: unknown[];
  /** Commands sent in one tick share a burst: one round trip waited, whatever they are. */
  readonly burst: number;
}

/**
 * The client with every command it sends recorded (pipelines' too: ioredis sends them through the
 * client's sendCommand), and `shift` applied to the offset of each ZRANGE BYSCORE call after the
 * first of its burst before it goes out: what an entry removed (+1) or added (-1) below the call
 * by another client between the calls looks like to the reader.
 */
function recording(client: Redis, shift = 0): { proxy: Redis; sent: Sent[] } {
  const sent: Sent[] = [];
  let burst = 0;
  let pending = false;
  const proxy = new Proxy(client, {
    get(target, prop, receiver) {
      if (prop !== 'sendCommand') return Reflect.get(target, prop, receiver) as unknown;
      return (command: { name: string; args: unknown[] }, ...rest: unknown[]) => {
        if (!pending) {
          pending = true;
          burst++;
          setImmediate(() => (pending = false));
        }
        const byScore = command.name === 'zrange' && command.args.some((a) => String(a) === 'BYSCORE');
        if (byScore && shift !== 0 && sent.some((s) => s.burst === burst && s.name === 'zrange' && s.args.some((a) => String(a) === 'BYSCORE'))) {
          const at = command.args.findIndex((a) => String(a) === 'LIMIT') + 1;
          command.args[at] = String(Number(command.args[at]) + shift);
        }
        sent.push({ name: command.name, args: [...command.args], burst });
        return (target.sendCommand as (...a: unknown[]) => unknown).call(target, command, ...rest);
      };
    },
  });
  return { proxy, sent };
}

async function seedDistinctScores(key: string, n: number): Promise<string[]> {
  const payloads: string[] = [];
  const pipeline = redis.pipeline();
  for (let i = 0; i < n; i++) {
    const payload = sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` });
    payloads.push(payload);
    pipeline.zadd(key, String(NOW + i), payload);
  }
  await pipeline.exec();
  return payloads;
}

async function expectEachMovedOnce(key: string, payloads: string[]): Promise<void> {
  const flat = await redis.zrange(key, 0, '-1', 'WITHSCORES');
  const left: string[] = [];
  for (let i = 0; i < flat.length; i += 2) left.push(`${flat[i + 1]} ${flat[i]}`);
  expect(left.sort()).toEqual(payloads.map((p, i) => `${NOW + i} ${withQueue(p, 'old', 'a')}`).sort());
}

describe('a set walked by score, its reads in one round trip a page', () => {
  it('2,000 entries in pages of 1,000: one round trip of reads a page (5 calls of at most 200 each), every entry moved once with its score', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const key = keys.sortedSet('schedule');
    const payloads = await seedDistinctScores(key, 2_000);
    const { proxy, sent } = recording(redis);

    const run = await rerouteSet({ redis: proxy, keys, set: 'schedule', plan: classRoutingPlan(new Map([['A', 'a']])), count: 1_000, dryRun: false, recordMovesAs: { runId: 'walk-rt-1' } });

    expect(run.done).toBe(true);
    expect(run.counters).toMatchObject({ scanned: 2_000, moved: 2_000, alreadyRouted: 0, vanished: 0, conflicts: 0 });
    await expectEachMovedOnce(key, payloads);
    const reads = sent.filter((s) => s.name === 'zrange' && s.args.includes('BYSCORE'));
    for (const r of reads) expect(Number(r.args[r.args.indexOf('LIMIT') + 2])).toBeLessThanOrEqual(MAX_ENTRIES_PER_SCAN_CALL);
    // 995 + 995 + 10 entries: three pages, each read in one round trip (main: 5 + 5 + 1 = 11).
    expect(run.pages).toBe(3);
    expect(new Set(reads.map((r) => r.burst)).size).toBe(3);
  });

  it.each([
    ['removed', 1],
    ['added', -1],
  ])('an entry %s below a call between the calls of one read: the calls after it are dropped, every entry still moved once, none counted twice', async (_what, shift) => {
    const keys = new SidekiqKeys(uniquePrefix());
    const key = keys.sortedSet('retry');
    const payloads = await seedDistinctScores(key, 1_500);
    const { proxy, sent } = recording(redis, shift);

    const run = await rerouteSet({ redis: proxy, keys, set: 'retry', plan: classRoutingPlan(new Map([['A', 'a']])), count: 1_000, dryRun: false, recordMovesAs: { runId: `walk-rt-${shift}` } });

    expect(run.done).toBe(true);
    expect(run.counters).toMatchObject({ scanned: 1_500, moved: 1_500, alreadyRouted: 0, vanished: 0, conflicts: 0 });
    await expectEachMovedOnce(key, payloads);
    // Every read's second call was shifted, so each read kept its first call only (199 entries).
    expect(sent.some((s) => s.name === 'zrange' && s.args.includes('BYSCORE') && Number(s.args[s.args.indexOf('LIMIT') + 1]) > 0)).toBe(true);
  });
});
