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
 * Everything under `prefix`, readable: per key its type, when it expires and its whole value
 * (bytes in hex; lists in order, sets and hashes sorted, sorted sets with exact scores; other types
 * as DUMP). Two equal snapshots mean nothing was written, not just that the same key names exist:
 * a key added, removed or renamed, one byte of a member, a score, a list's order, a type, an
 * expiry added, removed, extended or shortened all show.
 *
 * An expiry is its absolute instant (PEXPIRETIME, exact to the millisecond), not the remaining
 * TTL, so a TTL counting down between two snapshots is no change, while any command that set it
 * again is. Needs Redis 7.0 or later (PEXPIRETIME); says so on an older server. Key names are read
 * as bytes; one that is not UTF-8 is shown as `hex:…`.
 */
export async function keyValueSnapshot(redis: Redis, prefix = ''): Promise<Record<string, string>> {
  const hex = (b: Buffer) => b.toString('hex');
  const keys = await keyNamesUnder(redis, prefix);
  const types = await execAll(redis, keys.map((key) => ['TYPE', key]));
  const reads = await execAll(
    redis,
    keys.flatMap((key, i) => [readCommand(String(types[i]), key), ['PEXPIRETIME', key]]),
  );
  const snapshot: Record<string, string> = {};
  keys.forEach((key, i) => {
    const type = String(types[i]);
    const raw = reads[2 * i];
    const expireAt = Number(reads[2 * i + 1]);
    let value: string;
    if (type === 'list') value = (raw as Buffer[]).map(hex).join(',');
    else if (type === 'set') value = (raw as Buffer[]).map(hex).sort().join(',');
    else if (type === 'zset' || type === 'hash') {
      const flat = raw as Buffer[];
      const pairs: string[] = [];
      for (let j = 0; j < flat.length; j += 2) pairs.push(type === 'zset' ? `${hex(flat[j]!)}@${flat[j + 1]!.toString()}` : `${hex(flat[j]!)}=${hex(flat[j + 1]!)}`);
      value = pairs.sort().join(',');
    } else value = hex((raw as Buffer | null) ?? Buffer.alloc(0));
    const expiry = expireAt < 0 ? 'persistent' : `expiring@${new Date(expireAt).toISOString()}`;
    snapshot[keyName(key)] = `${type} ${expiry} ${value}`;
  });
  return snapshot;
}

/** A snapshot with every `expiring@<instant>` read as `expiring`: for comparing with values written out in a test. */
export function withoutExpiryInstants(snapshot: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(snapshot).map(([key, state]) => [key, state.replace(/^(\S+) expiring@\S+/, '$1 expiring')]));
}

function readCommand(type: string, key: Buffer): (string | Buffer)[] {
  if (type === 'string') return ['GET', key];
  if (type === 'list') return ['LRANGE', key, '0', '-1'];
  if (type === 'set') return ['SMEMBERS', key];
  if (type === 'zset') return ['ZRANGE', key, '0', '-1', 'WITHSCORES'];
  if (type === 'hash') return ['HGETALL', key];
  return ['DUMP', key];
}

/** Runs the commands in one pipeline, replies as Buffers; the first error thrown (an older Redis: said plainly). */
async function execAll(redis: Redis, commands: (string | Buffer)[][]): Promise<unknown[]> {
  if (commands.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const [name, ...args] of commands) pipeline.callBuffer(String(name), args);
  const replies = (await pipeline.exec()) ?? [];
  return replies.map(([error, reply]) => {
    if (error && /unknown command .PEXPIRETIME/i.test(error.message)) throw new Error('keyValueSnapshot needs Redis 7.0 or later (PEXPIRETIME) to compare expiries exactly', { cause: error });
    if (error) throw error;
    return reply;
  });
}

/** Every key matching `prefix*` as bytes, by SCAN, sorted and without repeats. */
async function keyNamesUnder(redis: Redis, prefix: string): Promise<Buffer[]> {
  const keys = new Map<string, Buffer>();
  let cursor = '0';
  do {
    const [next, page] = await redis.scanBuffer(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 1000);
    cursor = next.toString();
    page.forEach((k) => keys.set(k.toString('hex'), k));
  } while (cursor !== '0');
  return [...keys.values()].sort(Buffer.compare);
}

const keyName = (key: Buffer) => (Buffer.from(key.toString()).equals(key) ? key.toString() : `hex:${key.toString('hex')}`);

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

/**
 * Our keys (`sidekiq-migrate:*`) on a source after transfer calls, sorted. The source's index of
 * in-flight keys (core/transfer/inflight-index.ts) is among them only while it names a key still
 * there: the acknowledge that empties an in-flight key takes its name out in the same call
 * (acknowledgeQueueBatch-4.lua, acknowledgeSetBatch-10.lua), so an index left naming only gone keys
 * is a defect these lists show.
 */
export async function ourKeys(redis: Redis): Promise<string[]> {
  return (await redis.keys('sidekiq-migrate:*')).sort();
}
