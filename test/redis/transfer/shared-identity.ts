import type { Redis } from 'ioredis';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

/** The jid the seeded jobs share (one a round when there are several rounds). */
export const SHARED_JID = '0123456789abcdef01234567';

const entry = (key: string, payload: Buffer, score = '') => `${key}\t${payload.toString('hex')}\t${score}`;

/**
 * Jobs that a ledger keyed by jid, or by bytes, would take for one, `rounds` times: per round,
 * in `queue:default` three different payloads sharing a jid, the same bytes pushed twice (a
 * producer's retried LPUSH) and five ordinary jobs; entries sharing the jid in `retry` (twice) and
 * `schedule`; and once, in `queue:mailers`, two byte-identical payloads that are not even UTF-8
 * (no jid) and two sharing the jid, and in `dead` two entries sharing it. Every one is a job
 * Sidekiq would run: a transfer must leave exactly the same multiset.
 *
 * Returns that multiset as `jobMultiset` prints it, sorted.
 */
export async function seedSharedIdentities(source: Redis, rounds = 1): Promise<string[]> {
  const expected: string[] = [];
  const push = async (queue: string, payload: string | Buffer) => {
    await source.lpush(`queue:${queue}`, payload);
    expected.push(entry(`queue:${queue}`, Buffer.from(payload)));
  };
  const add = async (set: string, score: string, payload: string) => {
    await source.zadd(set, score, payload);
    expected.push(entry(set, Buffer.from(payload), score));
  };
  for (let round = 0; round < rounds; round++) {
    const jid = round === 0 ? SHARED_JID : `${SHARED_JID.slice(0, -4)}${String(round).padStart(4, '0')}`;
    const tag = round === 0 ? '' : `,${round}`;
    for (let i = 0; i < 3; i++) await push('default', sidekiqPayload({ className: 'A', jid, args: `[${i}${tag}]` }));
    const twice = sidekiqPayload({ className: 'A', args: `["pushed twice"${tag}]` });
    await push('default', twice);
    await push('default', twice);
    for (let i = 0; i < 5; i++) await push('default', sidekiqPayload({ className: 'A', args: `[${100 + i}${tag}]` }));
    for (const [set, extra] of [
      ['retry', '"retry_count":1'],
      ['retry', '"retry_count":2'],
      ['schedule', '"at":1795462903.5'],
    ] as const) {
      const score = set === 'schedule' ? '1795462903.5' : `${1795459303 + expected.length}.5`;
      await add(set, score, sidekiqPayload({ className: 'B', jid, args: `[7${tag}]`, extra }));
    }
  }
  const notUtf8 = Buffer.from([0x7b, 0x22, 0x63, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d]); // {"c":"\xe9"}
  await push('mailers', notUtf8);
  await push('mailers', sidekiqPayload({ className: 'M', queue: 'mailers', jid: SHARED_JID, args: '["a"]' }));
  await push('mailers', notUtf8);
  await push('mailers', sidekiqPayload({ className: 'M', queue: 'mailers', jid: SHARED_JID, args: '["b"]' }));
  await add('dead', '1795459000.25', sidekiqPayload({ className: 'B', jid: SHARED_JID, args: '[7]', extra: '"error_message":"one"' }));
  await add('dead', '1795459001.25', sidekiqPayload({ className: 'B', jid: SHARED_JID, args: '[7]', extra: '"error_message":"two"' }));
  return expected.sort();
}

/**
 * Every job in the queues and sets of a Redis, byte for byte (hex) with its key and score, the
 * same bytes as often as they are there; bookkeeping (`queues`, `sidekiq-migrate:*`) left out.
 */
export async function jobMultiset(redis: Redis): Promise<string[]> {
  const jobs: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      if (key === 'queues' || key.includes('sidekiq-migrate:')) continue;
      const type = await redis.type(key);
      if (type === 'list') for (const payload of await redis.lrangeBuffer(key, 0, -1)) jobs.push(entry(key, payload));
      if (type === 'zset') {
        const flat = await redis.zrangeBuffer(key, 0, '-1', 'WITHSCORES');
        for (let i = 0; i < flat.length; i += 2) jobs.push(entry(key, flat[i]!, flat[i + 1]!.toString()));
      }
    }
  } while (cursor !== '0');
  return jobs;
}

/** The jobs on both servers together: what a transfer, finished or not, must keep exactly. */
export async function unionOf(source: Redis, target: Redis): Promise<string[]> {
  return [...(await jobMultiset(source)), ...(await jobMultiset(target))].sort();
}

/** How many entries the in-flight keys on a source hold, and the keys a transfer keeps there. */
export async function inflightState(source: Redis): Promise<{ entries: number; inflightKeys: string[]; batchKeys: string[] }> {
  const inflightKeys = (await source.keys('sidekiq-migrate:*:inflight:*')).sort();
  let entries = 0;
  for (const key of inflightKeys) entries += (await source.type(key)) === 'list' ? await source.llen(key) : await source.zcard(key);
  return { entries, inflightKeys, batchKeys: (await source.keys('sidekiq-migrate:*:batch:*')).sort() };
}
