import { TRANSFER_SETTINGS } from '../transfer/config.js';

/**
 * Sizes of the selective-move part (issue 17: a shard move carries the jobs of chosen classes to
 * another Redis and leaves every other job where it was). Every job sits on one of a few shared
 * queues, as on a GitLab instance whose routing rules send most workers to `default`; a tenth of
 * the worker classes is selected.
 */
export interface SelectiveProfile {
  readonly name: 'full' | 'quick';
  /** Jobs on the source, over SHARED_QUEUES. */
  readonly jobs: number;
  /**
   * The Ruby loop is stopped after this long: its LREM scans the list for every job it moves, so
   * on a million jobs it runs for hours on a loaded machine. Stopped, it still gives a bound: it
   * would have needed more than this, so ours is at least this ÷ ours' seconds faster.
   */
  readonly rubyCapSeconds: number;
}

const PROFILES: Record<SelectiveProfile['name'], SelectiveProfile> = {
  full: { name: 'full', jobs: 1_000_000, rubyCapSeconds: 900 },
  quick: { name: 'quick', jobs: 20_000, rubyCapSeconds: 300 },
};

export const selectiveProfile = (quick: boolean): SelectiveProfile => PROFILES[quick ? 'quick' : 'full'];

/** The shared queues and each one's share of the jobs. */
export const SHARED_QUEUES: readonly (readonly [string, number])[] = [
  ['default', 0.55],
  ['high-urgency', 0.15],
  ['low-urgency', 0.15],
  ['throttled', 0.15],
];

/** Every SELECT_EVERY-th worker class of the CE catalog (sorted by name) is selected: 10 %. */
export const SELECT_EVERY = 10;

export const SELECTIVE_SETTINGS = {
  seed: 'sidekiq-migrate selective bench v1',
  /** The source's database holding the pristine copy (COPYed into database 0 before each run, as the transfer part does). */
  pristineDb: TRANSFER_SETTINGS.pristineDb,
} as const;

/** Issue 18's goal for the whole command against what people run today, at loopback. */
export { WHOLE_COMMAND_GOAL } from '../baselines/config.js';
