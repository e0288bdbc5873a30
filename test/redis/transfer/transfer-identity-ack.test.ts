import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { LuaScript } from '../../../core/redis/lua-script.js';
import { SidekiqKeys, type SortedSetName } from '../../../core/redis/sidekiq-keys.js';
import { transferQueueSlice, type QueueTransferCursor } from '../../../core/transfer/queue-transfer.js';
import { runTransfer, type TransferRunRequest } from '../../../core/transfer/run-transfer.js';
import { transferSetSlice, type SetTransferCursor } from '../../../core/transfer/set-transfer.js';
import type { TransferCounters } from '../../../core/transfer/transfer-counters.js';
import { interferingRedis, SimulatedCrash } from '../../support/interfering-redis.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { expectTransferEnd, killTransferChildMidway, midRunKills, waitForLocksGone } from '../../support/transfer-crash-loop.js';
import { inflightState, jobMultiset, seedSharedIdentities, unionOf } from './shared-identity.js';

const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const union = () => unionOf(redis.source(), redis.target());

function request(source: Redis, target: Redis, runId: string): TransferRunRequest {
  return { source, target, sourceKeys: keys, targetKeys: keys, runId, dryRun: false, sets: ['schedule', 'retry', 'dead'], queues: true, sliceSize: 3, lockTtlMs: 50 };
}

const ACKNOWLEDGES = new Set([new LuaScript('acknowledgeQueueBatch-4').sha, new LuaScript('acknowledgeSetBatch-10').sha]);

/** A source client that dies just before its `n`-th acknowledge (0-based) of a slice. */
function crashingBeforeAcknowledge(n: number): Redis {
  let acks = 0;
  return interferingRedis(redis.source(), ({ scripts }) => {
    if (scripts.some((sha) => ACKNOWLEDGES.has(sha)) && acks++ === n) throw new SimulatedCrash(`crash before acknowledge ${n}`);
  });
}

describe('jobs sharing a jid or bytes, across a crash between the write and the acknowledge', () => {
  it('a transfer leaves every entry on the target as often as it was on the source, byte for byte', async () => {
    const expected = await seedSharedIdentities(redis.source(), 3);

    const summary = await runTransfer(request(redis.source(), redis.target(), 'identity'));

    expect(summary.totals).toMatchObject({ claimed: expected.length, written: expected.length, duplicates: 0, resumed: 0 });
    expect((await jobMultiset(redis.target())).sort()).toEqual(expected);
    expect(await jobMultiset(redis.source())).toEqual([]);
    expect(await inflightState(redis.source())).toEqual({ entries: 0, inflightKeys: [], batchKeys: [] });
  });

  it.each(['same run', 'another run'] as const)(
    'crashed after writing each slice, before acknowledging it, then resumed by the %s: the batch is recognised, nothing written twice',
    async (resumer) => {
      let crashes = 0;
      for (let n = 0; ; n++) {
        await redis.source().flushall();
        await redis.target().flushall();
        const expected = await seedSharedIdentities(redis.source());

        const outcome = await runTransfer(request(crashingBeforeAcknowledge(n), redis.target(), 'crashing')).then(
          () => 'completed' as const,
          (error: Error) => error,
        );
        if (outcome === 'completed') break;
        expect(outcome.message).toContain(`crash before acknowledge ${n}`);
        const inflight = await inflightState(redis.source());
        // The slice was written: its entries are both in flight (not counted) and on the target.
        expect(await union(), `crash before acknowledge ${n}`).toEqual(expected);
        expect(contains(await jobMultiset(redis.target()), await inflightCopies()), `crash before acknowledge ${n}`).toBe(true);
        if (inflight.entries > 0) crashes++;
        expect(inflight.batchKeys.length).toBe(inflight.inflightKeys.length);

        if (resumer === 'another run') await waitForLocksGone(redis.source(), redis.target());
        const summary = await runTransfer(request(redis.source(), redis.target(), resumer === 'same run' ? 'crashing' : 'resumer'));

        // Every resumed entry was known to the crashed run's ledger under the same id.
        expect(summary.resumed, `crash before acknowledge ${n}`).toMatchObject({ resumed: inflight.entries, duplicates: inflight.entries, written: 0 });
        expect(summary.totals.duplicates).toBe(inflight.entries);
        expect(await union(), `crash before acknowledge ${n}`).toEqual(expected);
        // The resumed run went on after the leftovers: the source is empty, the target exact.
        await expectTransferEnd(redis.source(), redis.target(), expected, `crash before acknowledge ${n}`);
        expect(await inflightState(redis.source())).toEqual({ entries: 0, inflightKeys: [], batchKeys: [] });
      }
      expect(crashes).toBeGreaterThan(8);
    },
  );

  it('a slice retried after that crash (as the workflow retries a page) gets its batch back from the claim, and appends to it', async () => {
    type Slice = (source: Redis, cursor: unknown) => Promise<{ cursor: unknown; done: boolean; counters: TransferCounters }>;
    const context = { target: redis.target(), sourceKeys: keys, targetKeys: keys, runId: 'paged', dryRun: false, sliceSize: 3 };
    const slices: [key: string, slice: Slice][] = [
      ['queue:default', (source, cursor) => transferQueueSlice({ ...context, source, queue: 'default', cursor: cursor as QueueTransferCursor | null })],
      ['queue:mailers', (source, cursor) => transferQueueSlice({ ...context, source, queue: 'mailers', placement: 'append', cursor: cursor as QueueTransferCursor | null })],
      ...(['retry', 'schedule', 'dead'] as SortedSetName[]).map(
        (set): [string, Slice] => [set, (source, cursor) => transferSetSlice({ ...context, source, set, cursor: cursor as SetTransferCursor | null })],
      ),
    ];
    let retried = 0;
    for (const [key, slice] of slices) {
      for (let n = 0; ; n++) {
        await redis.source().flushall();
        await redis.target().flushall();
        const expected = await seedSharedIdentities(redis.source(), 2);
        const crashing = crashingBeforeAcknowledge(n);
        let crashed = false;
        let cursor: unknown = null;
        for (let done = false; !done; ) {
          try {
            ({ cursor, done } = await slice(crashed ? redis.source() : crashing, cursor));
          } catch (error) {
            if (!((error as Error).cause instanceof SimulatedCrash)) throw error;
            crashed = true;
            const held = (await inflightState(redis.source())).entries;
            // The retry: the same slice, from the same cursor, with nothing resumed before it.
            const retry = await slice(redis.source(), cursor);
            expect(retry.counters, `${key}, crash before acknowledge ${n}`).toMatchObject({ resumed: held, duplicates: held, written: retry.counters.claimed });
            ({ cursor, done } = retry);
            retried++;
          }
        }
        // Only this key was transferred: all of it is on the target, exactly.
        const only = (entries: string[]) => entries.filter((e) => e.startsWith(`${key}\t`)).sort();
        expect(only(await jobMultiset(redis.target())), `${key}, crash before acknowledge ${n}`).toEqual(only(expected));
        expect(only(await jobMultiset(redis.source()))).toEqual([]);
        expect(await inflightState(redis.source())).toEqual({ entries: 0, inflightKeys: [], batchKeys: [] });
        if (!crashed) break;
      }
    }
    expect(retried).toBeGreaterThan(10);
  });

  it('a process killed with SIGKILL at random moments, then resumed by another run: the exact multiset', async () => {
    await midRunKills(3, async (attempt) => {
      await redis.source().flushall();
      await redis.target().flushall();
      const expected = await seedSharedIdentities(redis.source(), 8);
      const midRun = await killTransferChildMidway({ source: redis.source(), target: redis.target() }, redis.urls(), `killed-${attempt}`);

      await runTransfer(request(redis.source(), redis.target(), `resumer-${attempt}`));

      expect(await union(), `attempt ${attempt}`).toEqual(expected);
      await expectTransferEnd(redis.source(), redis.target(), expected, `attempt ${attempt}`);
      expect(await inflightState(redis.source())).toEqual({ entries: 0, inflightKeys: [], batchKeys: [] });
      return midRun;
    });
  });
});

/** What the in-flight keys hold, as `unionOf` prints the same entries in their source keys. */
async function inflightCopies(): Promise<string[]> {
  const copies: string[] = [];
  const source = redis.source();
  for (const key of (await inflightState(source)).inflightKeys) {
    const sourceKey = key.replace(/^sidekiq-migrate:[^:]+:inflight:/, '');
    if ((await source.type(key)) === 'list') for (const p of await source.lrangeBuffer(key, 0, -1)) copies.push(`${sourceKey}\t${p.toString('hex')}\t`);
    else {
      const flat = await source.zrangeBuffer(key, 0, '-1', 'WITHSCORES');
      for (let i = 0; i < flat.length; i += 2) copies.push(`${sourceKey}\t${flat[i]!.toString('hex')}\t${flat[i + 1]!.toString()}`);
    }
  }
  return copies;
}

/** Whether `all` holds every element of `some` at least as often. */
function contains(all: string[], some: string[]): boolean {
  const left = new Map<string, number>();
  for (const e of all) left.set(e, (left.get(e) ?? 0) + 1);
  return some.every((e) => {
    const n = left.get(e) ?? 0;
    left.set(e, n - 1);
    return n > 0;
  });
}
