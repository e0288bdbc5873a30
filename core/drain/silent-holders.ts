import type { DrainReport } from './drain-report.js';
import type { SidekiqProcess } from './live-processes.js';
import { hostPid, type RunningJobs } from './running-jobs.js';

/*
 * Live Sidekiq processes (their heartbeat hash still there) not heard from for more than
 * SILENT_BEATS beats (live-processes.ts: `silentSeconds`), and what they hold: a SIGKILLed
 * process's hash lives 60 s after its last beat, and what it holds is then worked on by nobody.
 * One reckoning for the drain check (drain-check.ts) and the run and move summaries
 * (core/workflow/held-by-workers.ts), so both say the same processes.
 */

/** A private list as both read it: its owner, whether it beats, and how long it has been silent. */
interface OwnedList {
  readonly key: string;
  readonly owner: string;
  readonly ownerAlive: boolean;
  readonly size: number;
  readonly ownerSilentSeconds?: number;
}

/**
 * The private lists, each whose live owner has not beaten for more than SILENT_BEATS beats marked
 * with how long (FetcherList.ownerSilentSeconds). The owner is matched as runningJobs matches it:
 * by identity, else by HOST:PID (GitLab's reliable fetcher names its list with a nonce of its own).
 */
export function withSilentOwners<L extends OwnedList>(lists: L[], processes: readonly SidekiqProcess[]): L[] {
  const ownerOf = silentOwnerOf(processes);
  return lists.map((l) => {
    const owner = l.ownerAlive ? ownerOf(l.owner) : undefined;
    return owner ? { ...l, ownerSilentSeconds: owner.silentSeconds! } : l;
  });
}

/**
 * The silent live process a private list's owner (as its name says it) is, if any: by identity,
 * else by HOST:PID when that names exactly one live process, a silent one. A process restarted
 * under the same HOST:PID (a container's PID 1) beats beside its killed predecessor's heartbeat
 * for up to 60 s: a list of that HOST:PID and a nonce of its fetcher's own may be either's, and is
 * not said to be the silent one's (it was taken for the killed process's while the new one worked
 * on it).
 */
function silentOwnerOf(processes: readonly SidekiqProcess[]): (owner: string) => SidekiqProcess | undefined {
  const live = processes.filter((p) => p.live);
  const byIdentity = new Map(live.map((p) => [p.identity, p]));
  const byHostPid = new Map<string, SidekiqProcess[]>();
  for (const p of live) byHostPid.set(hostPid(p.identity), [...(byHostPid.get(hostPid(p.identity)) ?? []), p]);
  return (owner) => {
    const exact = byIdentity.get(owner);
    const candidates = byHostPid.get(hostPid(owner)) ?? [];
    const p = exact ?? (candidates.length === 1 ? candidates[0] : undefined);
    return p?.silentSeconds === undefined ? undefined : p;
  };
}

export type SilentHolder = NonNullable<DrainReport['notHeardFrom']>[number];

/**
 * Live processes not heard from for more than SILENT_BEATS beats that hold jobs counted (in their
 * fetcher's private list, `fetched` as withSilentOwners marked it, or running in no list): the
 * first NOT_HEARD_FROM_NAMED, longest silent first, each with all its lists (the drain check's
 * verdict says the jobs of the others in one line).
 */
export function silentHolders(processes: readonly SidekiqProcess[], fetched: readonly OwnedList[], running: RunningJobs | undefined): SilentHolder[] {
  const ownerOf = silentOwnerOf(processes);
  const holders: SilentHolder[] = [];
  for (const p of processes) {
    if (!p.live || p.silentSeconds === undefined) continue;
    const lists = fetched.filter((l) => l.ownerSilentSeconds !== undefined && ownerOf(l.owner) === p).map((l) => ({ key: l.key, size: l.size }));
    const runs = running?.silent?.find((r) => r.identity === p.identity)?.jobs ?? 0;
    if (lists.length === 0 && runs === 0) continue;
    holders.push({ identity: p.identity, silentSeconds: p.silentSeconds, beatEverySeconds: p.beatEverySeconds, lists, running: runs });
  }
  return holders.sort((a, b) => b.silentSeconds - a.silentSeconds || (a.identity < b.identity ? -1 : 1)).slice(0, NOT_HEARD_FROM_NAMED);
}

/** Silent processes a report names. */
export const NOT_HEARD_FROM_NAMED = 10;
