import type { Redis, RedisKey } from 'ioredis';
import { isPlainName, nameBytes } from '../redis/key-name.js';
import { LuaScript } from '../redis/lua-script.js';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';
import { inspectJob } from '../payload/inspect-job.js';
import { MAX_SAMPLES } from '../reroute/reroute-counters.js';
import type { CarriedJob } from './carry-job.js';
import type { TransferCounters } from './transfer-counters.js';

const copyJobsToLists = new LuaScript('copyJobsToLists-n');
const copyEntriesToSet = new LuaScript('copyEntriesToSet-2');

/** A job with the id its claimed entry has in the run's ledger (ledger-id.ts). */
export type LedgeredJob = CarriedJob & { readonly id: string };

/**
 * Pushes jobs to their queues on the target, in the given order, each at most once per ledger;
 * all in one Lua call (the jobs of one slice, a bounded number).
 */
export async function writeJobsToQueues(
  target: Redis,
  keys: SidekiqKeys,
  ledger: RedisKey,
  push: 'RPUSH' | 'LPUSH',
  jobs: readonly LedgeredJob[],
  counters: TransferCounters,
): Promise<void> {
  if (jobs.length === 0) return;
  const destinations = new Map<string, number>();
  for (const job of jobs) if (!destinations.has(job.queue)) destinations.set(job.queue, destinations.size + 1);
  const names = [...destinations.keys()];
  // Names added to `queues` are the queues' bytes, as in their keys.
  const args: (string | Buffer | number)[] = [push, names.length, ...names.map((n) => (isPlainName(n) ? n : nameBytes(n)))];
  for (const job of jobs) args.push(job.id, job.payload, destinations.get(job.queue)!);
  const [already, ...written] = (await copyJobsToLists.run(target, { keys: [ledger, keys.queues, ...names.map((n) => keys.queue(n))], args })) as number[];
  counters.duplicates += already!;
  written.forEach((n, d) => {
    counters.written += n;
    if (n > 0) counters.writtenTo[names[d]!] = (counters.writtenTo[names[d]!] ?? 0) + n;
  });
}

/** A claimed set entry: `member` as claimed on the source, `payload` as it is written. */
export interface LedgeredEntry {
  readonly id: string;
  readonly member: Buffer;
  readonly payload: Buffer;
  readonly score: string;
}

/**
 * Adds entries to a sorted set on the target with their scores, each at most once per ledger and
 * never over an equal member (ZADD NX). Returns the entries that conflicted: their bytes were
 * already in the set, so they were not written; the acknowledge gives them back to the source.
 */
export async function writeEntriesToSet(
  target: Redis,
  setKey: string,
  setName: string,
  ledger: RedisKey,
  entries: readonly LedgeredEntry[],
  counters: TransferCounters,
): Promise<LedgeredEntry[]> {
  if (entries.length === 0) return [];
  const args: (string | Buffer)[] = [];
  for (const e of entries) args.push(e.id, e.payload, e.score);
  const [written, already, ...positions] = (await copyEntriesToSet.run(target, { keys: [ledger, setKey], args })) as number[];
  counters.written += written!;
  counters.duplicates += already!;
  if (written! > 0) counters.writtenTo[setName] = (counters.writtenTo[setName] ?? 0) + written!;
  const conflicts = positions.map((p) => entries[p - 1]!);
  counters.conflicts += conflicts.length;
  for (const c of conflicts.slice(0, MAX_SAMPLES - counters.conflictSamples.length)) {
    const job = inspectJob(c.member);
    counters.conflictSamples.push({ jid: job.kind === 'job' ? job.jid : null, className: job.kind === 'job' ? job.className : null, reason: `already in ${setName} on the target` });
  }
  return conflicts;
}
