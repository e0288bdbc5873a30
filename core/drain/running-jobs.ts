import type { Redis } from 'ioredis';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';
import type { FetcherList } from './fetcher-lists.js';
import type { SidekiqProcess } from './live-processes.js';

/**
 * Jobs live Sidekiq processes are running that sit in no list and no set. Sidekiq's own (basic)
 * fetch takes a job off its queue with BRPOP: while it runs, Redis holds it only in the process's
 * heartbeat, the hash `IDENTITY:workers` (Sidekiq 5 to 6.4; `IDENTITY:work` from 6.5), one field
 * per busy thread, `{"queue", "payload", "run_at"}`, rewritten at every beat (5 s) and expiring
 * 60 s after the last. Such a job is not done: one that fails goes to `retry` naming its queue,
 * and one its process stops (TERM) before it ends goes back onto its queue, on this Redis; one whose
 * process is killed is lost, and its heartbeat still names it until it expires. A drain check
 * that counted nothing else said DRAINED over it, and the routing runbook's next step (restart
 * without the retired queues) put it back where nobody fetches
 * (test/compat/real-sidekiq-basic-fetch-drain.test.ts).
 *
 * A job a fetcher keeps in a private list (GitLab's reliable fetcher, super_fetch) is in that
 * process's heartbeat too, and already counted with the list: the jobs of live owners' lists are
 * taken off what the heartbeats say, off their own process's count only (one running in no list is
 * named with its own process, not with a reliable-fetch one whose jobs are all in its list). Never
 * off another live process's: a heartbeat lags its fetcher by up to a beat (5 s), so a job just
 * fetched into a list is in no heartbeat yet, and taking it off another process's count said
 * "1 job(s) left" for 2 and named nowhere the basic-fetch process whose kill loses its job
 * (test/compat/real-sidekiq-redis-move-runbook-killed.test.ts). A job that ended less than a beat
 * ago may still be listed: the next check no longer sees it.
 */
export interface RunningJobs {
  /** Jobs running, of the queues in scope, not in a private list. */
  readonly jobs: number;
  /** Per process (its identity), how many of its running jobs are in scope; the first RUNNING_NAMED. */
  readonly processes: readonly { readonly identity: string; readonly jobs: number }[];
  /**
   * Of `jobs`, those of live processes not heard from for more than SILENT_BEATS beats
   * (live-processes.ts: they may have been killed, losing them), and the first RUNNING_NAMED of
   * those processes. Absent when none (and in older reports).
   */
  readonly silentJobs?: number;
  readonly silent?: readonly { readonly identity: string; readonly jobs: number }[];
}

/** Processes a report names (the count covers every one). */
const RUNNING_NAMED = 10;

/**
 * What the heartbeats of the live processes (quiet ones too: they finish what they run) say they
 * run from the queues `inScope` accepts (and, given their job, a selection's classes), minus the
 * jobs of live owners' private lists of those queues (`fetched`). Undefined when none. One round
 * trip for every process.
 */
export async function runningJobs(redis: Redis, keys: SidekiqKeys, processes: readonly SidekiqProcess[], fetched: readonly FetcherList[], inScope: (queue: string, payload: Buffer | null) => boolean): Promise<RunningJobs | undefined> {
  const threads = await busyThreads(redis, keys, processes);
  if (threads === undefined) return undefined;
  const perProcess = new Map<string, Map<string, number>>();
  for (const { identity, queue, payload } of threads) {
    if (!inScope(queue, payload)) continue;
    const mine = perProcess.get(identity) ?? new Map<string, number>();
    mine.set(queue, (mine.get(queue) ?? 0) + 1);
    perProcess.set(identity, mine);
  }
  // What private lists of live owners already count comes off their own process only (matched by
  // identity, else by HOST:PID: GitLab's reliable fetcher names its list with a nonce of its own),
  // so that the jobs in no list are named with the process that runs them, and never more than
  // that process's heartbeat lists: the rest of its list is in no heartbeat yet (taken less than a
  // beat ago), so nothing else comes off for it. Only a list whose owner is none of the live
  // processes read here (a fleet read in part, a heartbeat hash already gone) comes off its
  // queue's count, whoever runs it.
  const unmatched = new Map<string, number>();
  const live = new Set(processes.filter((p) => p.live).map((p) => p.identity));
  // By HOST:PID, the first process read of each (a fleet of up to 1,000 against as many lists),
  // one with busy threads in scope before one without.
  const byHostPid = new Map<string, string>();
  for (const identity of [...perProcess.keys(), ...live]) if (!byHostPid.has(hostPid(identity))) byHostPid.set(hostPid(identity), identity);
  for (const l of fetched) {
    if (!l.ownerAlive) continue;
    const owner = live.has(l.owner) ? l.owner : byHostPid.get(hostPid(l.owner));
    if (owner === undefined) {
      unmatched.set(l.queue, (unmatched.get(l.queue) ?? 0) + l.size);
      continue;
    }
    const mine = perProcess.get(owner);
    const own = Math.min(l.size, mine?.get(l.queue) ?? 0);
    if (own > 0) mine!.set(l.queue, mine!.get(l.queue)! - own);
  }
  let jobs = 0;
  const named: { identity: string; jobs: number }[] = [];
  const silentIds = new Set(processes.filter((p) => p.live && p.silentSeconds !== undefined).map((p) => p.identity));
  const silent: { identity: string; jobs: number }[] = [];
  for (const [identity, queues] of perProcess) {
    let n = 0;
    for (const [queue, runs] of queues) {
      const off = Math.min(runs, unmatched.get(queue) ?? 0);
      unmatched.set(queue, (unmatched.get(queue) ?? 0) - off);
      n += runs - off;
    }
    jobs += n;
    if (n > 0) named.push({ identity, jobs: n });
    if (n > 0 && silentIds.has(identity)) silent.push({ identity, jobs: n });
  }
  if (jobs === 0) return undefined;
  const order = (a: { identity: string; jobs: number }, b: { identity: string; jobs: number }) => b.jobs - a.jobs || (a.identity < b.identity ? -1 : 1);
  named.sort(order);
  silent.sort(order);
  const silentJobs = silent.reduce((n, p) => n + p.jobs, 0);
  return { jobs, processes: named.slice(0, RUNNING_NAMED), ...(silentJobs > 0 ? { silentJobs, silent: silent.slice(0, RUNNING_NAMED) } : {}) };
}

/** An identity's or a private list owner's `HOST:PID` (an owner is `HOST:PID:NONCE`, or GitLab's older `HOST:PID`). */
export function hostPid(identity: string): string {
  return identity.split(':').slice(0, 2).join(':');
}

/** A busy thread of a live process, as its heartbeat lists it. */
export interface BusyThread {
  readonly identity: string;
  readonly queue: string;
  /** The job it runs, as Sidekiq enqueued it (6.x and later write the job's JSON text; 5.x the parsed job), or null when unreadable. */
  readonly payload: Buffer | null;
}

/**
 * What the heartbeats of the live processes (quiet ones too) say their busy threads run: one
 * round trip for every process. Undefined when no process is live.
 */
export async function busyThreads(redis: Redis, keys: SidekiqKeys, processes: readonly SidekiqProcess[]): Promise<BusyThread[] | undefined> {
  const live = processes.filter((p) => p.live);
  if (live.length === 0) return undefined;
  const pipeline = redis.pipeline();
  for (const p of live) for (const suffix of [':workers', ':work']) pipeline.hvals(`${keys.prefix}${p.identity}${suffix}`);
  const replies = (await pipeline.exec()) ?? [];
  const threads: BusyThread[] = [];
  live.forEach((p, i) => {
    for (const [error, values] of [replies[2 * i] ?? [null, []], replies[2 * i + 1] ?? [null, []]]) {
      // A key of another type under that name is not a heartbeat of busy threads: nothing read.
      if (error || !Array.isArray(values)) continue;
      for (const value of values as string[]) {
        const thread = threadOf(value);
        if (thread !== null) threads.push({ identity: p.identity, ...thread });
      }
    }
  });
  return threads;
}

/** A busy thread's entry (a small JSON object `{queue, payload, run_at}`), or null when it names no queue. */
function threadOf(value: string): { queue: string; payload: Buffer | null } | null {
  try {
    const parsed = JSON.parse(value) as { queue?: unknown; payload?: unknown };
    if (typeof parsed.queue !== 'string') return null;
    const payload = typeof parsed.payload === 'string' ? Buffer.from(parsed.payload) : typeof parsed.payload === 'object' && parsed.payload !== null ? Buffer.from(JSON.stringify(parsed.payload)) : null;
    return { queue: parsed.queue, payload };
  } catch {
    return null;
  }
}
