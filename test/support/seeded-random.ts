/**
 * What the randomized tests share: a small seeded PRNG (mulberry32), so that a failing seed
 * replays exactly, and Sidekiq's in-place reschedule of a set entry as one atomic call.
 */

/** mulberry32: numbers in [0, 1), the same sequence for the same seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One random member of the set KEYS[1] rescheduled by ARGV[1] (a ZINCRBY of the same member, as
 * Sidekiq's SortedEntry#reschedule), atomically: no member is created if it went meanwhile.
 * Returns the member, or nil when the set is empty.
 */
export const RESCHEDULE_ONE = `local m = redis.call('ZRANDMEMBER', KEYS[1]) if not m then return false end redis.call('ZINCRBY', KEYS[1], ARGV[1], m) return m`;

/**
 * `trial(seed)` over the fixed seeds, one after the other: from RANDOM_TRIAL_FIRST_SEED (1) on,
 * RANDOM_TRIAL_SEEDS of them (`seeds`), as many as fit in RANDOM_TRIAL_BUDGET_MS (`budgetMs`: a
 * loaded machine runs fewer; each trial names its seed on failure). Returns the faults the trials
 * met, added up.
 */
export async function faultsOverSeeds(trial: (seed: number) => Promise<number>, seeds: number, budgetMs: number): Promise<number> {
  const first = Number(process.env.RANDOM_TRIAL_FIRST_SEED ?? 1);
  const count = Number(process.env.RANDOM_TRIAL_SEEDS ?? seeds);
  const budget = Number(process.env.RANDOM_TRIAL_BUDGET_MS ?? budgetMs);
  const started = Date.now();
  let faults = 0;
  for (let seedNumber = first; seedNumber < first + count; seedNumber++) {
    faults += await trial(seedNumber);
    if (Date.now() - started > budget) break;
  }
  return faults;
}
