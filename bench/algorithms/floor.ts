import type { Redis } from 'ioredis';
import type { PreparedRun, RunRequest } from '../runner/protocol.js';
import type { BenchRouting } from '../workload/routing.js';
import { workload } from '../workload/workload.js';

interface SetOp {
  readonly key: string;
  readonly score: string;
  readonly original: Buffer;
  readonly rewritten: Buffer;
}

interface ListOp {
  readonly source: string;
  readonly destination: string;
  readonly original: Buffer;
  readonly rewritten: Buffer;
}

/**
 * (c) The floor: the same end state reached with nothing but the writes, every rewrite known in
 * advance (regenerated from the seed before the clock starts): ZREM + ZADD per entry, LREM + RPUSH
 * per queued job, `floorPipelineJobs` jobs per pipeline. No reads, no parsing, no checks, no Lua.
 * It is what Redis itself costs for these writes plus the network: nothing correct can be faster
 * by much.
 */
export function prepareFloor(redis: Redis, routing: BenchRouting, request: RunRequest): PreparedRun {
  const setOps: SetOp[] = [];
  const byList = new Map<string, ListOp[]>();
  for (const job of workload(routing, request.scale)) {
    if (job.rewritten === null) continue;
    const original = Buffer.from(job.original);
    const rewritten = Buffer.from(job.rewritten);
    if (job.kind !== 'queued') setOps.push({ key: job.where, score: job.score, original, rewritten });
    else {
      const ops = byList.get(job.where) ?? [];
      ops.push({ source: `queue:${job.where}`, destination: `queue:${job.destination}`, original, rewritten });
      byList.set(job.where, ops);
    }
  }
  // Jobs were LPUSHed oldest first, so the newest is at the head: taking each list head first
  // makes every LREM find its job at position 0, and RPUSH keeps them in order (like our `front`).
  const listOps = [...byList.values()].flatMap((ops) => ops.reverse());
  const chunk = request.floorPipelineJobs;

  return {
    async run(onProgress) {
      const start = performance.now();
      for (let i = 0; i < setOps.length; i += chunk) {
        const pipeline = redis.pipeline();
        for (const op of setOps.slice(i, i + chunk)) pipeline.zrem(op.key, op.original).zadd(op.key, op.score, op.rewritten);
        await exec(pipeline);
        onProgress(i + chunk);
      }
      const setsEnd = performance.now();
      for (let i = 0; i < listOps.length; i += chunk) {
        const pipeline = redis.pipeline();
        for (const op of listOps.slice(i, i + chunk)) pipeline.lrem(op.source, 1, op.original).rpush(op.destination, op.rewritten);
        await exec(pipeline);
        onProgress(setOps.length + i + chunk);
      }
      const end = performance.now();
      return {
        setsSeconds: (setsEnd - start) / 1000,
        queuesSeconds: (end - setsEnd) / 1000,
        movedSets: setOps.length,
        movedQueued: listOps.length,
        details: { pipelines: Math.ceil(setOps.length / chunk) + Math.ceil(listOps.length / chunk) },
      };
    },
  };
}

async function exec(pipeline: ReturnType<Redis['pipeline']>): Promise<void> {
  for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
}
