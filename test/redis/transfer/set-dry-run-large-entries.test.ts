// A transfer's dry run of a set reads each slice after its last entry counted, from up to
// DRY_RUN_MARGIN entries before it (set-dry-run-read.ts). A slice asks for fewer entries when they
// are large (page-bytes.ts: about MAX_PAGE_BYTES of payloads a read); the entries read before where
// it stands must not undo that: 50 entries of 300 KiB read before a slice of 3 were 15 MiB a
// slice (Redis's reply, every Sidekiq client waiting behind it, and the function's memory), for
// entries counted already. Here every slice's reads of the set stay within about two pages' bytes
// (the slice's own page, and at most as many entries again before it, as a read by score's).
import { describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { MAX_PAGE_BYTES } from '../../../core/redis/page-bytes.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { transferSetSlice, type SetTransferCursor } from '../../../core/transfer/set-transfer.js';
import { keyValueSnapshot } from '../../support/exact-jobs.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const ENTRY = 300 * 1024;
const job = (i: number) => sidekiqPayload({ className: 'A', queue: 'default', args: `[${i},"${'p'.repeat(ENTRY)}"]` });

/** `client` whose replies to reads of `key` (pipelined or not) add their bytes to `read.bytes`. */
function counting(client: Redis, key: string, read: { bytes: number }): Redis {
  const add = (reply: unknown) => {
    if (Array.isArray(reply)) for (const b of reply) if (Buffer.isBuffer(b)) read.bytes += b.length;
  };
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'pipeline') {
        return (...a: unknown[]) => {
          const pipeline = (value as (...x: unknown[]) => ReturnType<Redis['pipeline']>).apply(target, a);
          const exec = pipeline.exec.bind(pipeline);
          pipeline.exec = async (...e: Parameters<typeof exec>) => {
            const replies = await exec(...e);
            for (const [, r] of replies ?? []) add(r);
            return replies;
          };
          return pipeline;
        };
      }
      if (prop !== 'zrangeBuffer') return value;
      return async (...a: unknown[]) => {
        const reply = await (value as (...x: unknown[]) => Promise<Buffer[]>).apply(target, a);
        if (String(a[0]) === key) add(reply);
        return reply;
      };
    },
  });
}

describe("a set's dry run of large entries", () => {
  it('counts every entry once, each slice reading about two pages of bytes at most', async () => {
    const size = 40;
    const seeding = redis.source().pipeline();
    for (let i = 0; i < size; i++) seeding.zadd('retry', String(1795462903 + i), job(i));
    await seeding.exec();
    const before = await keyValueSnapshot(redis.source());
    const read = { bytes: 0 };
    const source = counting(redis.source(), 'retry', read);
    let cursor: SetTransferCursor | null = null;
    let claimed = 0;
    let most = 0;
    for (let n = 0; n < 100; n++) {
      read.bytes = 0;
      const r = await transferSetSlice({ source, target: redis.target(), sourceKeys: keys, targetKeys: keys, runId: 'large', dryRun: true, sliceSize: 1_000, set: 'retry', cursor });
      claimed += r.counters.claimed;
      most = Math.max(most, read.bytes);
      cursor = r.cursor;
      if (r.done) break;
    }
    expect(claimed).toBe(size);
    expect(most).toBeLessThanOrEqual(2 * MAX_PAGE_BYTES + 2 * ENTRY);
    expect(await keyValueSnapshot(redis.source())).toEqual(before);
  }, 60_000);
});
