// Large payloads in a class-selective transfer (a shard move): a slice examines as many jobs as fit
// in MAX_PAGE_BYTES (page-bytes.ts), not the page size (1,000 jobs of 2 MB are 2 GB in one read),
// and the claim looks for a shift of fewer jobs (it reads every job within that shift of the window,
// in the source Redis's memory). Every selected job still moves exactly once, every other one stays.
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { LuaScript } from '../../../core/redis/lua-script.js';
import { MAX_PAGE_BYTES } from '../../../core/redis/page-bytes.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import type { Placement } from '../../../core/reroute/queue-slice.js';
import { transferQueueSlice, type QueueTransferCursor } from '../../../core/transfer/queue-transfer.js';
import { transferSetSlice, type SetTransferCursor } from '../../../core/transfer/set-transfer.js';
import { jobDigestEntry, jobDigestsIn } from '../../support/exact-jobs.js';
import { interferingRedis } from '../../support/interfering-redis.js';
import { recordJobReads } from '../../support/job-reads.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
/** A large job: 15 of them, with their JSON, fill a page's bytes (MAX_PAGE_BYTES, 1 MiB). */
const LARGE = MAX_PAGE_BYTES / 16;
const claimSha = new LuaScript('claimSelectedQueueJobs-11').sha;
const big = (i: number) => sidekiqPayload({ className: i % 2 === 0 ? 'Move' : 'Stay', queue: 'default', args: `["${String(i).padStart(4, '0')}${'x'.repeat(LARGE)}"]` });
const base = () => ({ target: redis.target(), sourceKeys: keys, targetKeys: keys, runId: 'big', dryRun: false, sliceSize: 1000, classes: ['Move'] });

/** A client of the source whose reads of jobs, and the shift each queue claim looks for (its ARGV[2]), are recorded. */
function watchedSource(): { source: Redis; reads: ReturnType<typeof recordJobReads>; shifts: number[] } {
  const source = redis.source().duplicate();
  const reads = recordJobReads(source);
  const shifts: number[] = [];
  const send = source.sendCommand.bind(source);
  source.sendCommand = ((command: Parameters<Redis['sendCommand']>[0], ...rest: unknown[]) => {
    if (command.name.toLowerCase() === 'evalsha' && String(command.args[0]) === claimSha) shifts.push(claimShift(command));
    return (send as (...args: unknown[]) => unknown)(command, ...rest);
  }) as Redis['sendCommand'];
  return { source, reads, shifts };
}

/**
 * ARGV[2] of a claimSelectedQueueJobs call, from the RESP it writes (an encoded call's `args` hold
 * only its SHA, key count and keys): EVALSHA, SHA, 6, 6 keys, ARGV[1], ARGV[2] — the 11th bulk string.
 */
function claimShift(command: Parameters<Redis['sendCommand']>[0]): number {
  const written = command.toWritable(null as never);
  const lines = Buffer.from(written as Buffer | string).subarray(0, 2048).toString('latin1').split('\r\n');
  // EVALSHA, its SHA, the key count, the 7 keys (claimSelectedQueueJobs-11.lua: the index of in-flight keys last), ARGV[1], then ARGV[2].
  return Number(lines[2 + 2 * 11]);
}

describe('a class-selective transfer of large jobs', () => {
  it.each(['front', 'append'] as const)('a queue (%s): slices of at most 15 jobs, each selected job moved once and in order, the others kept in order', async (placement: Placement) => {
    const jobs = Array.from({ length: 40 }, (_, i) => big(i));
    await redis.source().lpush('queue:default', ...jobs);
    const before = await redis.source().lrange('queue:default', 0, -1);
    const { source, reads, shifts } = watchedSource();

    const examined: number[] = [];
    let cursor: QueueTransferCursor | null = null;
    for (let slices = 0; slices < 20; slices++) {
      const r = await transferQueueSlice({ ...base(), source, queue: 'default', cursor, placement });
      examined.push(r.counters.examined ?? 0);
      cursor = r.cursor;
      if (r.done) break;
    }
    source.disconnect();

    expect(examined.reduce((a, b) => a + b, 0)).toBe(40);
    for (const n of examined) expect(n).toBeLessThanOrEqual(15);
    expect(cursor?.bytesPerJob).toBeGreaterThan(LARGE);
    // Head to tail, as they were: the selected jobs on the target, the others on the source.
    expect(await redis.target().lrange('queue:default', 0, -1)).toEqual(before.filter((p) => p.includes('"class":"Move"')));
    expect(await redis.source().lrange('queue:default', 0, -1)).toEqual(before.filter((p) => p.includes('"class":"Stay"')));
    // The pass's first read holds the window alone (within the bytes); later ones the window and
    // the 33 places around the anchor where it is looked for first.
    const ranges = reads.filter((r) => r.key === 'queue:default' && r.command === 'lrange');
    expect(ranges[0]!.jobs).toBe(5);
    expect(ranges[1]!.bytes).toBeLessThanOrEqual(MAX_PAGE_BYTES);
    for (const read of ranges) expect(read.jobs).toBeLessThanOrEqual(15 + 33);
    // The claim looks for a shift of 16 jobs of that size, plus the window's 15 (256 + 1,000 before).
    expect(shifts.length).toBeGreaterThanOrEqual(3);
    for (const shift of shifts) expect(shift).toBeLessThanOrEqual(16 + 15);
  });

  it('a fetcher takes 3 jobs between the read and the claim: the smaller shift still finds them; every job once, taken, fetched or kept', async () => {
    const jobs = Array.from({ length: 30 }, (_, i) => big(i));
    await redis.source().lpush('queue:default', ...jobs);
    const fetched: Buffer[] = [];
    let armed = true;
    const { source: watched } = watchedSource();
    const source = interferingRedis(watched, async (call) => {
      if (armed && call.scripts.includes(claimSha)) {
        armed = false;
        for (let i = 0; i < 3; i++) fetched.push((await redis.source().rpopBuffer('queue:default'))!);
      }
    });

    let cursor: QueueTransferCursor | null = null;
    for (let slices = 0; slices < 20; slices++) {
      const r = await transferQueueSlice({ ...base(), source, queue: 'default', cursor, placement: 'front' });
      cursor = r.cursor;
      if (r.done) break;
    }
    watched.disconnect();

    expect(fetched).toHaveLength(3);
    const everywhere = [...(await jobDigestsIn(redis.source())), ...(await jobDigestsIn(redis.target())), ...fetched.map((p) => jobDigestEntry('fetched', p))];
    const key = (entry: string) => entry.split('\t')[1];
    expect(everywhere.map(key).sort()).toEqual(jobs.map((p) => key(jobDigestEntry('', p))).sort());
    // Nothing selected is left on the source; nothing else left it but what the fetcher took.
    const left = await redis.source().lrange('queue:default', 0, -1);
    expect(left.every((p) => p.includes('"class":"Stay"'))).toBe(true);
    expect(await redis.target().llen('queue:default')).toBe(15 - fetched.filter((p) => p.includes('"class":"Move"')).length);
  });

  it('a set: slices of at most 15 entries, each selected entry moved once with its score, the others kept', async () => {
    const jobs = Array.from({ length: 24 }, (_, i) => big(i));
    for (const [i, job] of jobs.entries()) await redis.source().zadd('schedule', String(2e9 + i), job);
    const { source, reads } = watchedSource();

    const examined: number[] = [];
    let cursor: SetTransferCursor | null = null;
    for (let slices = 0; slices < 20; slices++) {
      const r = await transferSetSlice({ ...base(), source, set: 'schedule', cursor });
      examined.push(r.counters.examined ?? 0);
      cursor = r.cursor;
      if (r.done) break;
    }
    source.disconnect();

    expect(examined.reduce((a, b) => a + b, 0)).toBe(24);
    for (const n of examined) expect(n).toBeLessThanOrEqual(15);
    expect(cursor?.bytesPerJob).toBeGreaterThan(LARGE);
    const entries = (i: number[]) => i.map((n) => jobDigestEntry('schedule', jobs[n]!, String(2e9 + n))).sort();
    const even = jobs.map((_, i) => i).filter((i) => i % 2 === 0);
    const odd = jobs.map((_, i) => i).filter((i) => i % 2 === 1);
    expect(await jobDigestsIn(redis.target())).toEqual(entries(even));
    expect(await jobDigestsIn(redis.source())).toEqual(entries(odd));
    for (const read of reads.filter((r) => r.key === 'schedule')) expect(read.jobs).toBeLessThanOrEqual(15 + 33);
  });
});
