// The summary's count of a set's entries (count-set-entries.ts), which sends each page's next read
// before it examines the page: the count stays exact, every read asks at most 200 entries, at most
// one read is outstanding, none is sent once the count's time is up, no page read ahead is examined
// once it is up, and what it did not examine is `unread`, exactly.
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { MAX_ENTRIES_PER_SCAN_CALL } from '../../core/redis/page-bytes.js';
import { countSetEntries } from '../../core/workflow/steps/count-set-entries.js';
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
  it('counts every matching entry, in reads of at most 200 entries, one outstanding at a time', async () => {
    await seed(redis.client(), ENTRIES);
    const { proxy, reads } = recording(redis.client(), Date.now);

    expect(await countSetEntries(proxy, 'schedule', marked, {})).toEqual({ matching: Math.ceil(ENTRIES / 7) });
    expect(reads.length).toBeGreaterThan(ENTRIES / MAX_ENTRIES_PER_SCAN_CALL);
    for (const r of reads) expect(r.to - r.from + 1).toBeLessThanOrEqual(MAX_ENTRIES_PER_SCAN_CALL);
    expect(Math.max(...reads.map((r) => r.outstanding))).toBe(1);
    // The reads cover the set once, in order, without a gap.
    expect(reads.map((r) => r.from)).toEqual([0, ...reads.slice(0, -1).map((r) => r.to + 1)]);
  });

  it('its time up midway (the clock moves as it examines): no read sent after it, the count cut short, exactly the entries not read said', async () => {
    await seed(redis.client(), ENTRIES);
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
    const sizes = reads.map((r) => Math.min(r.to, ENTRIES - 1) - r.from + 1);
    const read = sizes.reduce((a, b) => a + b, 0);
    expect(read).toBeLessThan(ENTRIES);
    // The last read was sent ahead, in time, before the page that ran past the time was examined:
    // that page is not examined (a Lambda is killed at its timeout; with no read ahead its read
    // would not have been sent), its entries are among those said not read, exactly.
    const examinedPages = sizes.slice(0, -1);
    expect(examined).toBe(examinedPages.reduce((a, b) => a + b, 0));
    expect(counted).toEqual({ unread: ENTRIES - examined });
    // It went on while in time: the last page examined began in time, and ran past it.
    expect(examined).toBeGreaterThanOrEqual(500);
    expect(examinedPages.slice(0, -1).reduce((a, b) => a + b, 0)).toBeLessThan(500);
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
