import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { OTHER_QUEUES } from '../../../core/reroute/reroute-counters.js';
import { countLeftInSet, MAX_COUNT_READS } from '../../../core/transfer/set-leftovers.js';
import { privateRedis } from '../../support/private-redis.js';

// A set pass's count of what it left runs in a page task, whose time is bounded: the read of the
// set stops after MAX_COUNT_READS pages, and what it did not read is counted (ZCARD) unnamed, so
// the set's total stays exact however many entries a retry storm left there.
const redis = privateRedis();

const entry = (i: number, queue: string) => Buffer.from(JSON.stringify({ class: 'A', queue, args: [i], jid: String(i).padStart(24, '0') }));

/** 5,000 retry entries: the first 2,500 by score name `mailers`, the rest `default`. */
async function seedRetry(): Promise<void> {
  const args: (string | Buffer)[] = [];
  for (let i = 0; i < 5_000; i++) args.push(String(i), entry(i, i < 2_500 ? 'mailers' : 'default'));
  await redis.client().zadd('retry', ...args);
}

describe('countLeftInSet', () => {
  it('reads at most its bound of pages, names what it read, counts the rest unnamed: the total is exact', async () => {
    await seedRetry();
    const reads: string[] = [];
    const counting = new Redis(redis.url(), { protocol: 2 });
    await counting.ping(); // connected: a command sent before is sent again from the offline queue
    const sent = counting.sendCommand.bind(counting);
    counting.sendCommand = ((command: { name: string }) => {
      reads.push(command.name);
      return sent(command as never);
    }) as typeof counting.sendCommand;

    const left = await countLeftInSet(counting, 'retry', undefined, 2);
    counting.disconnect();

    expect(left).toEqual({ mailers: 2_000, [OTHER_QUEUES]: 3_000 });
    expect(reads.filter((name) => name === 'zrange')).toHaveLength(2);
  });

  it('under the bound, every entry named', async () => {
    await seedRetry();
    expect(MAX_COUNT_READS * 1_000).toBeGreaterThan(5_000);
    expect(await countLeftInSet(redis.client(), 'retry', undefined)).toEqual({ mailers: 2_500, default: 2_500 });
  });
});
