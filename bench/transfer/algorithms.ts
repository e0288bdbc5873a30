import type { Redis } from 'ioredis';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { runTransfer } from '../../core/transfer/run-transfer.js';
import type { TransferCounters } from '../../core/transfer/transfer-counters.js';
import type { PreparedRun, Timing } from '../runner/protocol.js';
import type { TransferRunRequest } from './protocol.js';

/**
 * (a) Ours: the transfer core as the CLI's local runner calls it, one runTransfer over the seeded
 * sets and every queue. The boundary between the set and the queue phases is the last set slice's
 * callback, so the queue phase includes finding the queues; the set phase includes taking both run
 * locks and looking for an interrupted run's in-flight keys.
 */
export function prepareOursTransfer(source: Redis, target: Redis, request: TransferRunRequest): PreparedRun {
  return {
    async run(onProgress) {
      let jobs = 0;
      let slices = 0;
      let lastSetSlice = 0;
      const sets = new Set<string>(request.sets);
      const start = performance.now();
      const summary = await runTransfer({
        source,
        target,
        sourceKeys: new SidekiqKeys(''),
        targetKeys: new SidekiqKeys(''),
        runId: request.runId,
        dryRun: false,
        sets: request.sets,
        queues: true,
        sliceSize: request.sliceSize,
        onPage: (key, page) => {
          if (sets.has(key)) lastSetSlice = performance.now();
          slices++;
          jobs += page.counters.claimed;
          onProgress(jobs);
        },
      });
      const end = performance.now();
      const setsEnd = lastSetSlice || start;
      const written = (c: TransferCounters | undefined) => c?.written ?? 0;
      return {
        setsSeconds: (setsEnd - start) / 1000,
        queuesSeconds: (end - setsEnd) / 1000,
        movedSets: request.sets.reduce((n, s) => n + written(summary.sets[s]), 0),
        movedQueued: Object.values(summary.queues).reduce((n, c) => n + c.written, 0),
        details: { slices, queues: Object.keys(summary.queues).length, totals: scalarCounters(summary.totals), resumed: scalarCounters(summary.resumed) },
      } satisfies Timing;
    },
  };
}

function scalarCounters(c: TransferCounters): Record<string, number> {
  const { claimed, written, duplicates, resumed, rerouted, unmapped, unparsable } = c;
  return { claimed, written, duplicates, resumed, rerouted, unmapped, unparsable };
}

/**
 * (n) The loop people write by hand, every command awaited before the next, no pipelining, no Lua:
 * - each sorted set: `ZRANGE set 0 N-1 WITHSCORES` (one page of the soonest entries), then for
 *   each entry `ZADD set score member` on the target and `ZREM set member` on the source; again
 *   until the page comes back empty;
 * - queues: `SMEMBERS queues` on the source, then per queue `SADD queues name` on the target and
 *   `RPOP queue:name` (the oldest job) on the source and `LPUSH queue:name job` on the target
 *   until RPOP returns nil — which keeps the queue's order.
 * Payloads and scores travel as the bytes Redis returned (Buffers), so nothing is re-encoded.
 * This is the cheapest correct-looking hand loop: 2 round trips per job (RPOP removes the job, so
 * no LINDEX/LREM pair is needed; that variant would cost 3).
 */
export function prepareNaiveTransfer(source: Redis, target: Redis, request: TransferRunRequest): PreparedRun {
  return {
    async run(onProgress) {
      let jobs = 0;
      let roundTrips = 0;
      const moved = () => {
        if (++jobs % 500 === 0) onProgress(jobs);
      };
      const start = performance.now();
      let movedSets = 0;
      for (const set of request.sets) {
        for (;;) {
          const flat = await source.zrangeBuffer(set, 0, String(request.naivePage - 1), 'WITHSCORES');
          roundTrips++;
          if (flat.length === 0) break;
          for (let i = 0; i < flat.length; i += 2) {
            const member = flat[i]!;
            await target.zadd(set, flat[i + 1]!.toString(), member);
            await source.zrem(set, member);
            roundTrips += 2;
            movedSets++;
            moved();
          }
        }
      }
      const setsEnd = performance.now();
      let movedQueued = 0;
      const queues = await source.smembers('queues');
      roundTrips++;
      for (const queue of queues) {
        await target.sadd('queues', queue);
        roundTrips++;
        for (;;) {
          const job = await source.rpopBuffer(`queue:${queue}`);
          roundTrips++;
          if (job === null) break;
          await target.lpush(`queue:${queue}`, job);
          roundTrips++;
          movedQueued++;
          moved();
        }
      }
      const end = performance.now();
      return {
        setsSeconds: (setsEnd - start) / 1000,
        queuesSeconds: (end - setsEnd) / 1000,
        movedSets,
        movedQueued,
        details: { roundTrips, queues: queues.length },
      } satisfies Timing;
    },
  };
}

/**
 * (c) The floor: the same end state with nothing but bulk commands, 3 sequential round trips per
 * page of `floorPage` jobs and no per-job work at all:
 * - each sorted set: `ZRANGE set 0 N-1 WITHSCORES` on the source, one `ZADD set s1 m1 s2 m2 …` on
 *   the target, `ZREMRANGEBYRANK set 0 n-1` on the source;
 * - queues: `SMEMBERS queues`, then per queue `SADD queues name` on the target and, until empty,
 *   `LRANGE queue:name -N -1` (the oldest jobs) on the source, one `LPUSH queue:name …` (oldest
 *   first) on the target, `LTRIM queue:name 0 -n-1` on the source.
 * No claim, no ledger, no lock, no parsing: a crash between write and removal duplicates a page,
 * and a job scheduled meanwhile with an earlier score would be removed unseen. It is not a
 * migration one could run on a live system, only what the data movement itself costs here.
 */
export function prepareFloorTransfer(source: Redis, target: Redis, request: TransferRunRequest): PreparedRun {
  return {
    async run(onProgress) {
      const page = request.floorPage;
      let roundTrips = 0;
      const start = performance.now();
      let movedSets = 0;
      for (const set of request.sets) {
        for (;;) {
          const flat = await source.zrangeBuffer(set, 0, String(page - 1), 'WITHSCORES');
          roundTrips++;
          if (flat.length === 0) break;
          const args: (string | Buffer)[] = [];
          for (let i = 0; i < flat.length; i += 2) args.push(flat[i + 1]!.toString(), flat[i]!);
          await target.zadd(set, ...args);
          await source.zremrangebyrank(set, 0, flat.length / 2 - 1);
          roundTrips += 2;
          movedSets += flat.length / 2;
          onProgress(movedSets);
        }
      }
      const setsEnd = performance.now();
      let movedQueued = 0;
      const queues = await source.smembers('queues');
      roundTrips++;
      for (const queue of queues) {
        const key = `queue:${queue}`;
        await target.sadd('queues', queue);
        roundTrips++;
        for (;;) {
          const jobs = await source.lrangeBuffer(key, -page, -1);
          roundTrips++;
          if (jobs.length === 0) break;
          await target.lpush(key, ...jobs.reverse());
          await source.ltrim(key, 0, -jobs.length - 1);
          roundTrips += 2;
          movedQueued += jobs.length;
          onProgress(movedSets + movedQueued);
        }
      }
      const end = performance.now();
      return {
        setsSeconds: (setsEnd - start) / 1000,
        queuesSeconds: (end - setsEnd) / 1000,
        movedSets,
        movedQueued,
        details: { roundTrips, queues: queues.length },
      } satisfies Timing;
    },
  };
}
