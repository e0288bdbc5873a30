// The summary's count of a set's entries (count-set-entries.ts), which sends the next pages' reads
// before it examines a page: the count stays exact, every read asks at most 200 entries, up to
// COUNT_READS_AHEAD reads are outstanding (so that a count waits on about one round trip per
// COUNT_READS_AHEAD pages, not one per page: issue #18), none is sent once the count's time is up,
// no page read ahead is examined once it is up, and what it did not examine is `unread`, exactly.
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { MAX_ENTRIES_PER_SCAN_CALL } from '../../core/redis/page-bytes.js';
import { COUNT_READS_AHEAD, countSetEntries } from '../../core/workflow/steps/count-set-entries.js';
import { privateRedis } from '../support/private-redis.js';

const redis = privateRedis();
const ENTRIES = 1_234;

/** `n` entries of ~110 bytes in `schedule`, every 7th marked. */
async function seed(client: Redis, n: number): Promise<void> {
  const args: (string | number)[] = [];
  for (let i = 0; i < n; i++) args.push(1_795_459_303 + i, `{"class":"A","queue":"q","args":[${i}],"mark":${i % 7 === 0},"pad":"${'x'.repeat(60)}"}`);
  for (let i = 0; i < args.length; i += 2_000) await client.zadd('schedule', ...args.slice(i, i + 2_000));
}

/** The client with its ZRANGE reads recorded: the range asked, the clock when sent, the reads outstanding then. */
function recording(client: Redis, clock: () => number) {
  const reads: { from: number; to: number; at: number; outstanding: number }[] = [];
  let outstanding = 0;
  const proxy = new Proxy(client, {
    get(target, prop, receiver) {
      if (prop !== 'zrangeBuffer') return Reflect.get(target, prop, receiver) as unknown;
      return async (key: string, from: string, to: string) => {
        reads.push({ from: Number(from), to: Number(to), at: clock(), outstanding: ++outstanding });
        try {
          return await target.zrangeBuffer(key, from, to);
        } finally {
          outstanding--;
        }
      };
    },
  });
  return { proxy, reads };
}

const marked = (member: Buffer) => member.includes('"mark":true');

describe('countSetEntries', () => {
  it(`counts every matching entry, in reads of at most 200 entries, ${COUNT_READS_AHEAD} outstanding at a time`, async () => {
    await seed(redis.client(), ENTRIES);
    const { proxy, reads } = recording(redis.client(), Date.now);

    expect(await countSetEntries(proxy, 'schedule', marked, {})).toEqual({ matching: Math.ceil(ENTRIES / 7) });
    expect(reads.length).toBeGreaterThan(ENTRIES / MAX_ENTRIES_PER_SCAN_CALL);
    for (const r of reads) expect(r.to - r.from + 1).toBeLessThanOrEqual(MAX_ENTRIES_PER_SCAN_CALL);
    expect(Math.max(...reads.map((r) => r.outstanding))).toBe(COUNT_READS_AHEAD);
    // The reads cover the set once, in order, without a gap; those past its end are at most the
    // ones outstanding when its last page came back.
    expect(reads.map((r) => r.from)).toEqual([0, ...reads.slice(0, -1).map((r) => r.to + 1)]);
    expect(reads.filter((r) => r.from >= ENTRIES).length).toBeLessThan(COUNT_READS_AHEAD);
  });

  it('waits on a round trip per COUNT_READS_AHEAD pages, not one per page (issue #18)', async () => {
    await seed(redis.client(), ENTRIES);
    // A network where every reply takes one round trip: the replies sent are held until the count
    // waits (nothing left to do but wait: a setImmediate later), then all come back together. The
    // round trips it waited on one after another are those flushes, however fast the machine.
    const held: (() => void)[] = [];
    let roundTrips = 0;
    const client = redis.client();
    const slow = new Proxy(client, {
      get(target, prop, receiver) {
        if (prop !== 'zrangeBuffer') return Reflect.get(target, prop, receiver) as unknown;
        return (key: string, from: string, to: string) => {
          const reply = target.zrangeBuffer(key, from, to);
          if (held.length === 0) {
            setImmediate(() => {
              roundTrips++;
              for (const release of held.splice(0)) release();
            });
          }
          return new Promise<Buffer[]>((resolve, reject) => held.push(() => void reply.then(resolve, reject)));
        };
      },
    });

    expect(await countSetEntries(slow, 'schedule', marked, {})).toEqual({ matching: Math.ceil(ENTRIES / 7) });
    // 1,234 entries of ~110 bytes: the probe of 5, then 7 pages of 200 (the last 29). One read
    // outstanding at a time waits 8 round trips; COUNT_READS_AHEAD (4) of them: the probe's, then
    // the first four pages', then the last three's.
    expect(roundTrips).toBe(3);
  });

  it('its time up midway (the clock moves as it examines): no read sent after it, the count cut short, exactly the entries not read said', async () => {
    // Larger than the pages read ahead of the time's end: some of it is never read.
    const entries = 3_000;
    await seed(redis.client(), entries);
    let now = 0;
    const clock = () => now;
    const { proxy, reads } = recording(redis.client(), clock);
    let examined = 0;
    const examine = (member: Buffer) => {
      examined++;
      now++; // a millisecond an entry
      return marked(member);
    };

    const counted = await countSetEntries(proxy, 'schedule', examine, { until: 500, clock });

    for (const r of reads) expect(r.at).toBeLessThan(500);
    const sizes = reads.map((r) => Math.min(r.to, entries - 1) - r.from + 1);
    const read = sizes.reduce((a, b) => a + b, 0);
    expect(read).toBeLessThan(entries);
    // The last reads were sent ahead, in time, before the page that ran past the time was examined:
    // those pages are not examined (a Lambda is killed at its timeout; with no read ahead their
    // reads would not have been sent), their entries are among those said not read, exactly.
    const examinedCount = sizes.findIndex((_, i) => sizes.slice(0, i + 1).reduce((a, b) => a + b, 0) === examined) + 1;
    expect(examinedCount).toBeGreaterThan(0);
    expect(sizes.length - examinedCount).toBeGreaterThanOrEqual(1);
    expect(sizes.length - examinedCount).toBeLessThanOrEqual(COUNT_READS_AHEAD);
    const examinedPages = sizes.slice(0, examinedCount);
    expect(counted).toEqual({ unread: entries - examined });
    // It went on while in time: the last page examined began in time, and ran past it.
    expect(examined).toBeGreaterThanOrEqual(500);
    expect(examinedPages.slice(0, -1).reduce((a, b) => a + b, 0)).toBeLessThan(500);
  });

  it('a read fails with reads ahead outstanding that fail too (a lost connection): the first failure goes up, none unhandled', async () => {
    await seed(redis.client(), ENTRIES);
    let n = 0;
    const failing = new Proxy(redis.client(), {
      get(target, prop, receiver) {
        if (prop !== 'zrangeBuffer') return Reflect.get(target, prop, receiver) as unknown;
        return async (key: string, from: string, to: string) => {
          const i = ++n;
          const reply = await target.zrangeBuffer(key, from, to);
          if (i >= 3) throw new Error(`read ${i} lost`);
          return reply;
        };
      },
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await expect(countSetEntries(failing, 'schedule', marked, {})).rejects.toThrow('read 3 lost');
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(n).toBeGreaterThan(3);
    expect(unhandled).toEqual([]);
  });

  it('its time up before it starts: nothing read, every entry unread', async () => {
    await seed(redis.client(), 300);
    const { proxy, reads } = recording(redis.client(), () => 10);

    expect(await countSetEntries(proxy, 'schedule', marked, { until: 10, clock: () => 10 })).toEqual({ unread: 300 });
    expect(reads).toEqual([]);
  });

  it('an empty set, and one smaller than its first read: counted whole', async () => {
    expect(await countSetEntries(redis.client(), 'schedule', marked, {})).toEqual({ matching: 0 });
    await seed(redis.client(), 3);
    expect(await countSetEntries(redis.client(), 'schedule', marked, { until: Number.MAX_SAFE_INTEGER })).toEqual({ matching: 1 });
  });
});
