import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { expect } from 'vitest';

/**
 * One job where Redis holds it, as tests compare them: `key \t payload bytes in hex \t score`
 * (score empty for a list entry). Hex, so that a changed byte (even in a payload that is not
 * UTF-8) shows, and sorted multisets of these strings compare "the same jobs, as often, byte for
 * byte, with the same scores".
 */
export function jobEntry(key: string, payload: string | Buffer, score: string | number = ''): string {
  return `${key}\t${Buffer.from(payload).toString('hex')}\t${score}`;
}

/** The same job with the first `"queue":"from"` replaced (what a re-route writes, done by hand). */
export function withQueue(payload: string, from: string, to: string): string {
  const next = payload.replace(`"queue":${JSON.stringify(from)}`, `"queue":${JSON.stringify(to)}`);
  if (next === payload) throw new Error(`no "queue":"${from}" in ${payload.slice(0, 80)}`);
  return next;
}

/** Every key matching `prefix*`, by SCAN (never KEYS on a shared server), sorted. */
export async function keysUnder(redis: Redis, prefix = ''): Promise<string[]> {
  const keys = new Set<string>();
  let cursor = '0';
  do {
    const [next, page] = await redis.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 1000);
    cursor = next;
    page.forEach((k) => keys.add(k));
  } while (cursor !== '0');
  return [...keys].sort();
}

const escapeGlob = (text: string) => text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);

/**
 * Every job in the lists and sorted sets under `prefix` (or only in `only`, when given), as
 * `jobEntry` prints them, sorted; the `queues` set and our bookkeeping (`sidekiq-migrate:*`) are
 * not jobs and are left out.
 */
export async function jobsIn(redis: Redis, prefix = '', only?: readonly string[], entry: typeof jobEntry = jobEntry): Promise<string[]> {
  const jobs: string[] = [];
  const keys = only ? [...only] : await keysUnder(redis, prefix);
  for (const key of keys) {
    if (key.includes('sidekiq-migrate:')) continue;
    const type = await redis.type(key);
    if (type === 'list') for (const payload of await redis.lrangeBuffer(key, 0, -1)) jobs.push(entry(key, payload));
    if (type === 'zset') {
      const flat = await redis.zrangeBuffer(key, 0, '-1', 'WITHSCORES');
      for (let i = 0; i < flat.length; i += 2) jobs.push(entry(key, flat[i]!, flat[i + 1]!.toString()));
    }
  }
  return jobs.sort();
}

/**
 * jobEntry with the payload's SHA-256 in place of its hex, for payloads of megabytes (a hex copy of
 * each costs more than the test): equal digests, equal bytes.
 */
export function jobDigestEntry(key: string, payload: string | Buffer, score: string | number = ''): string {
  return `${key}\t${createHash('sha256').update(payload).digest('hex')}\t${score}`;
}

/** jobsIn with jobDigestEntry. */
export function jobDigestsIn(redis: Redis, prefix = ''): Promise<string[]> {
  return jobsIn(redis, prefix, undefined, jobDigestEntry);
}

/** Asserts that the jobs under `prefix` are exactly `expected` (any order), every key included. */
export async function expectExactJobs(redis: Redis, prefix: string, expected: readonly string[], label?: string): Promise<void> {
  expect(await jobsIn(redis, prefix), label).toEqual([...expected].sort());
}

/**
 * Everything under `prefix`, readable: per key its type, its whole value (bytes in hex, lists in
 * order, sets and hashes sorted, sorted sets with scores) and whether it expires. Two equal
 * snapshots mean nothing was written, not just that the same key names exist.
 */
export async function keyValueSnapshot(redis: Redis, prefix = ''): Promise<Record<string, string>> {
  const snapshot: Record<string, string> = {};
  const hex = (b: Buffer) => b.toString('hex');
  for (const key of await keysUnder(redis, prefix)) {
    const type = await redis.type(key);
    let value: string;
    if (type === 'string') value = hex((await redis.getBuffer(key)) ?? Buffer.alloc(0));
    else if (type === 'list') value = (await redis.lrangeBuffer(key, 0, -1)).map(hex).join(',');
    else if (type === 'set') value = (await redis.smembersBuffer(key)).map(hex).sort().join(',');
    else if (type === 'zset') {
      const flat = await redis.zrangeBuffer(key, 0, '-1', 'WITHSCORES');
      const pairs: string[] = [];
      for (let i = 0; i < flat.length; i += 2) pairs.push(`${hex(flat[i]!)}@${flat[i + 1]!.toString()}`);
      value = pairs.sort().join(',');
    } else if (type === 'hash') {
      const flat = await redis.hgetallBuffer(key);
      value = Object.entries(flat)
        .map(([f, v]) => `${Buffer.from(f).toString('hex')}=${hex(v)}`)
        .sort()
        .join(',');
    } else value = hex((await redis.dumpBuffer(key)) ?? Buffer.alloc(0));
    const ttl = await redis.pttl(key);
    snapshot[key] = `${type} ${ttl < 0 ? 'persistent' : 'expiring'} ${value}`;
  }
  return snapshot;
}

/** A job a test put into Redis, with the sorted set and score it was put in (none for a queued job). */
export interface SeededJob {
  readonly payload: string | Buffer;
  readonly set?: string;
  readonly score?: string;
}

/**
 * Accounts for every job while consumers ran alongside: each one seeded or produced is exactly
 * once either stored (`stored`, as `jobsIn` prints them, from every server involved) or consumed,
 * never both, never twice, byte for byte once `normalize` undid what the operation may change
 * (a re-route's queue value); one still in a sorted set is in the set it was seeded in, with its
 * exact score.
 */
export function expectEveryJobOnce(options: {
  readonly seeded: readonly SeededJob[];
  readonly produced: readonly (string | Buffer)[];
  readonly stored: readonly string[];
  readonly consumed: readonly Buffer[];
  readonly normalize?: (payload: Buffer) => Buffer;
  /** The set key as stored, from the set key as seeded (e.g. another prefix on the target). */
  readonly setKey?: (stored: string) => string;
}): void {
  const hexOf = (payload: string | Buffer) => (options.normalize ?? ((b) => b))(Buffer.from(payload)).toString('hex');
  const bySeed = new Map(options.seeded.map((s) => [hexOf(s.payload), s]));
  const stored = options.stored.map((e) => e.split('\t') as [string, string, string]);
  for (const [key, hex, score] of stored) {
    if (score === '') continue;
    const origin = bySeed.get(hexOf(Buffer.from(hex, 'hex')));
    expect({ key: (options.setKey ?? ((k) => k))(key), score }, 'a sorted-set entry stays in its set with its exact score').toEqual({ key: origin?.set, score: origin?.score });
  }
  const seen = [...stored.map(([, hex]) => hexOf(Buffer.from(hex, 'hex'))), ...options.consumed.map(hexOf)].sort();
  expect(seen, 'every job stored or consumed exactly once, byte for byte').toEqual([...options.seeded.map((s) => s.payload), ...options.produced].map(hexOf).sort());
}
