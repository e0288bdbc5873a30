import type { Redis } from 'ioredis';
import { awaitTwoBeats, BEAT_WAIT_CAP_MS, type BeatWaitOptions } from '../drain/await-beats.js';
import type { DrainReport } from '../drain/drain-report.js';
import { censusProcesses } from '../drain/live-processes.js';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';
import { countSelectedJobs, type SelectedJobCounts } from './count-selected-jobs.js';
import { withRunningSelected } from './running-selected.js';

/** Processes named (the count covers every one). */
const NAMED = 10;

/**
 * A selection found with no job left, confirmed or not (as confirm-drained.ts confirms a drained
 * Redis): a job of its classes a live process fetched less than a beat before the count is in no
 * list and in no heartbeat yet. Unless the drain check of the whole Redis already confirmed that
 * nothing was left anywhere (its wait came before this count), the check waits for every live
 * process to beat twice, then reads what they run and `retry` (where a job of the selection that
 * failed meanwhile went) again. `unsure`: the processes that did not beat twice in time, stopped
 * or started meanwhile.
 */
export async function confirmSelection(
  redis: Redis,
  keys: SidekiqKeys,
  report: DrainReport,
  classes: readonly string[],
  counts: SelectedJobCounts,
  wait: BeatWaitOptions,
): Promise<{ counts: SelectedJobCounts; unsure?: { names: readonly string[]; count: number } }> {
  if (counts.selected > 0) return { counts };
  if (report.beatWait && !report.beatWait.unconfirmed && report.retiredQueues === undefined) return { counts };
  const clock = wait.clock ?? Date.now;
  const live = (await censusProcesses(redis, keys, clock() / 1000)).processes.filter((p) => p.live);
  if (live.length === 0) return { counts };
  const identities = live.map((p) => p.identity);
  const bound = Math.min(wait.until ?? Infinity, clock() + BEAT_WAIT_CAP_MS);
  wait.onWait?.(
    `No job of the selected classes found; waiting up to ${Math.max(0, Math.round((bound - clock()) / 1000))} s for the ${identities.length} live Sidekiq process(es) to beat twice: a job one fetched less than a beat ago is in no list and shows only in its next heartbeat.`,
  );
  const outcome = await awaitTwoBeats(redis, keys, identities, { ...wait, until: bound });
  const after = (await censusProcesses(redis, keys, clock() / 1000)).processes;
  const known = new Set(identities);
  const appeared = after.filter((p) => p.live && !known.has(p.identity)).map((p) => p.identity);
  const retry = await countSelectedJobs(redis, keys, { classes, sets: ['retry'], queues: false });
  const again = await withRunningSelected(redis, keys, after, [], classes, retry);
  const merged: SelectedJobCounts = again.selected === 0 ? counts : { ...again, byKey: new Map([...counts.byKey, ...again.byKey]), examined: counts.examined + again.examined };
  const unsure = [...outcome.late, ...outcome.stopped, ...appeared];
  return { counts: merged, ...(unsure.length > 0 && merged.selected === 0 ? { unsure: { names: unsure.slice(0, NAMED), count: unsure.length } } : {}) };
}
