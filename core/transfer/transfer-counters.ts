import { addDestinations, MAX_CLASSES, MAX_SAMPLES, type JobSample } from '../reroute/reroute-counters.js';
import { addLeftInSets, type LeftInSets } from './set-leftovers.js';

/** What one slice, one key or a whole transfer did. With a dry run, counts are "would". */
export interface TransferCounters {
  /** Jobs taken from the source (into the run's in-flight key). */
  claimed: number;
  /** Jobs written to the target. */
  written: number;
  /** Jobs the run's ledger had already written (a resumed slice): not written again. */
  duplicates: number;
  /** Jobs left in flight by an interrupted run and finished by this one. */
  resumed: number;
  /** Jobs whose queue was changed on the way (routing during the transfer). */
  rerouted: number;
  /** With routing: jobs whose class has no destination, carried over to the same queue name. */
  unmapped: number;
  /** Payloads we cannot read, carried over byte for byte. */
  unparsable: number;
  /**
   * Set entries whose bytes (after routing) were already in the target set — the same job twice,
   * or two jobs that routing rewrote to the same bytes: not written (a sorted set would have
   * merged them into one), given back to the source set with their score.
   */
  conflicts: number;
  /** Re-routed on the way and carrying a sidekiq-unique-jobs digest (see RerouteCounters.uniqueLocked). */
  uniqueLocked?: number;
  /** A few of them, for the report (bounded). */
  conflictSamples: JobSample[];
  /**
   * Queues: jobs still on the source queue when its item ended, pushed there during the transfer
   * (a transfer claims as many jobs as the queue held when it started; with `front` placement it
   * claims the newest first, so a producer's jobs can leave as many older ones behind). Nothing
   * is lost: the next transfer, or the drain check, finds them.
   */
  leftOnSource: number;
  /** Writes per target queue or set. */
  writtenTo: Record<string, number>;
  /**
   * With a class selection: per selected class, per source key (`queue:default`, `schedule`,
   * `retry`, `dead`), the jobs taken (a dry run: that would be taken). Only selected classes that
   * had jobs are keys, and at most MAX_CLASSES of them: the rest are added up under
   * OTHER_CLASSES. Counters travel in the workflow's state (256 KiB per state, a Map batch holds
   * ten items), so a selection of 500 classes must not make them grow with it; the plan, which
   * the CLI prints before the move, lists every class.
   */
  byClass?: Record<string, Record<string, number>>;
  /** With a class selection: members looked at (a member looked at twice, after a shift, counts twice). */
  examined?: number;
  /** With a class selection: members chosen but gone before the claim (a Sidekiq fetcher or poller took them first). */
  vanished?: number;
  /** With a class selection: payloads we cannot read, never taken (left where they are). */
  unparsableLeft?: number;
  /**
   * A class-selective set pass: the entries of `schedule`, `retry` and `dead` it read and left on
   * the source (their class not selected), per the queue their payload names (`default` for none):
   * the source's Sidekiq polls them and, when due (a dead one, when retried), pushes them there, on
   * the source. Counted as the pass reads its pages (no read of its own), for the summary to ask
   * the source's live processes whether anybody fetches from those queues (summarize-step.ts
   * leftUnheardInSets), as a re-route's RerouteCounters.unmappedNaming. An entry a pass reads twice
   * (its anchor gone, it reads again from the anchor's score) counts twice, as `examined` does.
   * Named as `writtenTo` is (MAX_DESTINATIONS names of MAX_DESTINATION_NAME_BYTES together, the
   * rest under OTHER_QUEUES). Absent when none, in a whole-set pass's counters (it claims entries
   * in Lua without reading them) and in counters of older versions.
   */
  unselectedNaming?: Record<string, number>;
  /**
   * A class-selective set pass: its unparsable entries left in place (part of `unparsableLeft`),
   * whose queue cannot be read (summarize-step.ts leftInSetsUnreadable). Absent when none.
   */
  unparsableInSets?: number;
  /**
   * Not a dry run: per set (`schedule`, `retry`, `dead`), the entries its pass left in the source's
   * set, by the queue each names (UNPARSABLE_ENTRIES for those whose payload cannot be read), read
   * when the pass ended (set-leftovers.ts): conflicts given back, entries added while it ran, a
   * selection's other classes and unparsable entries. The source's Sidekiq pushes them to those
   * queues on the source when due. Bounded per set (MAX_LEFT_QUEUES names, the rest under
   * OTHER_QUEUES). Absent when every pass left its set empty, and in counters of older versions.
   */
  leftInSets?: LeftInSets;
  /**
   * A class-selective set pass whose count of what stays at its end ran out of its task's time, or
   * of its tasks (leftUncountedAtCap), or a summary's count of what was added after the pass ran
   * out of its time (selected-left-count.ts, summarize-step.ts): the set's entries it did not read. The selected classes' jobs among
   * them are not in `leftOnSource`, which is then a floor ("at least"), and the run is never
   * "Complete" over them. Absent when every count read its whole set.
   */
  leftUncounted?: number;
  /**
   * With `leftUncounted`: the part of it that a count carried on over its item's tasks did not read
   * because it reached its cap of tasks (`countCap`: the execution's loop iterations, maxIterations,
   * selective-set-transfer.ts tellLeft), not because a task's time ran out (audit-truth: both
   * were said "cut short by its task's time"). Scalars, as the summary's listed rows keep only
   * those (run-tally.ts). Absent when no count reached its cap.
   */
  leftUncountedAtCap?: number;
  /** With `leftUncountedAtCap`: that cap, in tasks (the run's maxIterations; the largest where items are added up). */
  countCap?: number;
  /**
   * With `leftUncounted`: the part of it that the summary's own count of what was added to the set
   * after its pass ended (summarize-step.ts, arrivalsInSetsAfterTheirPassEnded) did not read, its
   * time (the summary's, not a page task's) run out (audit-truth2: it was said "the count of what
   * stays there was cut short by its task's time"). A scalar, as `leftUncountedAtCap`. Absent when
   * the summary read every set to its end, and in counters of older versions (their words unchanged).
   */
  leftUncountedBySummary?: number;
  /**
   * Attempts whose work these counters may not include (absent when none): a page task retried
   * after an attempt of the same input that started and never answered (a retry while it still
   * ran, or after it ran out of time), or a page call whose reply was lost on a dropped or
   * timed-out connection (it may have run). Their jobs were moved once all the same (every step
   * is atomic or resumable), but the counts may be short; the keys say where jobs are (drain-check).
   */
  uncountedAttempts?: number;
  /**
   * Jobs written to the target a second time (absent when none) because it no longer had their
   * copy when the source was about to acknowledge them: it restarted empty, was flushed or failed
   * over between the copy and the acknowledge (copy-kept.ts). None is lost or twice there (the
   * second write went through the same ledger), but the target lost data: whatever this run had
   * written there before may be gone with it, and the run is never "Complete" over it.
   */
  recopied?: number;
  /**
   * With `recopied`: the jobs of these counters' work that had been written to the target and
   * acknowledged on the source before the latest slice that found its copy lost (absent: none).
   * They were on the target only, so they may be gone with its data; 0 when the loss came before
   * any acknowledge. Kept by adding counters in the order the work ran (a set's or queue's slices
   * and pages); the run's totals add their items' side by side (addTransferCounters 'beside').
   */
  acknowledgedBeforeLoss?: number;
}

export function emptyTransferCounters(): TransferCounters {
  return { claimed: 0, written: 0, duplicates: 0, resumed: 0, rerouted: 0, unmapped: 0, unparsable: 0, conflicts: 0, leftOnSource: 0, conflictSamples: [], writtenTo: {} };
}

const SCALARS = ['claimed', 'written', 'duplicates', 'resumed', 'rerouted', 'unmapped', 'unparsable', 'conflicts', 'leftOnSource', 'uniqueLocked'] as const;
/** Counted only by selective transfers: absent from the counters of a whole-key transfer. */
const SELECTIVE_SCALARS = ['examined', 'vanished', 'unparsableLeft'] as const;

/**
 * `byClassBytes`: how many bytes of names `into`'s byClass may hold (MAX_BY_CLASS_BYTES for an
 * item's; the totals keep more: run-tally.ts). `order`: 'after' when `more` is work that ran after
 * `into`'s (a slice after the slices before, a page after the item's earlier pages), so that a
 * loss `more` saw comes after every job `into` acknowledged; 'beside' for items added up side by
 * side (a run's totals), whose losses are each their own.
 */
export function addTransferCounters(into: TransferCounters, more: TransferCounters, byClassBytes = MAX_BY_CLASS_BYTES, order: 'after' | 'beside' = 'after'): TransferCounters {
  // Counters from an older version's state have no conflicts.
  into.conflictSamples ??= [];
  // Before `into` takes `more`'s counts: what it had acknowledged by then.
  const acknowledgedBefore = (into.written ?? 0) + (into.duplicates ?? 0);
  const before = order === 'beside' || (more.recopied ?? 0) === 0 ? (into.acknowledgedBeforeLoss ?? 0) + (order === 'beside' ? (more.acknowledgedBeforeLoss ?? 0) : 0) : acknowledgedBefore + (more.acknowledgedBeforeLoss ?? 0);
  if (before > 0) into.acknowledgedBeforeLoss = before;
  for (const k of SCALARS) into[k] = (into[k] ?? 0) + (more[k] ?? 0);
  for (const s of more.conflictSamples ?? []) if (into.conflictSamples.length < MAX_SAMPLES) into.conflictSamples.push(s);
  addDestinations(into.writtenTo, more.writtenTo ?? {});
  for (const k of SELECTIVE_SCALARS) if (more[k] !== undefined) into[k] = (into[k] ?? 0) + more[k];
  if ((more.uncountedAttempts ?? 0) > 0) into.uncountedAttempts = (into.uncountedAttempts ?? 0) + more.uncountedAttempts!;
  if ((more.recopied ?? 0) > 0) into.recopied = (into.recopied ?? 0) + more.recopied!;
  if ((more.leftUncounted ?? 0) > 0) into.leftUncounted = (into.leftUncounted ?? 0) + more.leftUncounted!;
  // Items' caps are the same run's maxIterations: the unread add up, the cap stays.
  if ((more.leftUncountedAtCap ?? 0) > 0) into.leftUncountedAtCap = (into.leftUncountedAtCap ?? 0) + more.leftUncountedAtCap!;
  if ((more.countCap ?? 0) > 0) into.countCap = Math.max(into.countCap ?? 0, more.countCap!);
  if ((more.leftUncountedBySummary ?? 0) > 0) into.leftUncountedBySummary = (into.leftUncountedBySummary ?? 0) + more.leftUncountedBySummary!;
  if ((more.unparsableInSets ?? 0) > 0) into.unparsableInSets = (into.unparsableInSets ?? 0) + more.unparsableInSets!;
  if (more.unselectedNaming && Object.keys(more.unselectedNaming).length > 0) addDestinations((into.unselectedNaming ??= {}), more.unselectedNaming);
  if (more.leftInSets && Object.keys(more.leftInSets).length > 0) addLeftInSets((into.leftInSets ??= {}), more.leftInSets);
  for (const [className, perKey] of Object.entries(more.byClass ?? {})) {
    for (const [key, n] of Object.entries(perKey)) addByClass(into, className, key, n, byClassBytes);
  }
  return into;
}

/** Where the jobs of the classes past the first MAX_CLASSES are counted (byClass). */
export const OTHER_CLASSES = '(other classes)';
/** Where a class's jobs from source keys past MAX_BY_CLASS_BYTES are counted (byClass). */
export const OTHER_KEYS = '(other sets and queues)';

/**
 * UTF-8 bytes of the class names and source keys `byClass` names at most (the rest under
 * OTHER_CLASSES and OTHER_KEYS). Each item's counters carry it, ten items in a Map batch's output
 * (256 KiB): fifty selected classes of 404 characters out of ten queues named with 512 bytes made
 * that output 488,041 bytes, and the run failed after moving every job. Fifty GitLab class names
 * with their queue fit whole. The run's totals, one state, keep TOTALS_BY_CLASS_BYTES, across every
 * source key of the run (unbounded before: a class found in thousands of queues named them all).
 */
export const MAX_BY_CLASS_BYTES = 8_192;
/** The byClass bytes of a run's totals (run-tally.ts): fifty GitLab classes over a dozen shared queues. */
export const TOTALS_BY_CLASS_BYTES = 16_384;

/** The bytes of the names a byClass holds, kept per object: addByClass runs once per job taken. */
const byClassBytes = new WeakMap<object, number>();
const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

function namedBytes(byClass: Record<string, Record<string, number>>): number {
  let total = byClassBytes.get(byClass);
  if (total === undefined) {
    total = 0;
    for (const [className, perKey] of Object.entries(byClass)) total += bytes(className) + Object.keys(perKey).reduce((sum, key) => sum + bytes(key), 0);
  }
  return total;
}

/** Counts `n` jobs of `className` taken (or, in a dry run, to be taken) from `sourceKey`. */
export function addByClass(counters: TransferCounters, className: string, sourceKey: string, n = 1, budget = MAX_BY_CLASS_BYTES): void {
  const byClass = (counters.byClass ??= {});
  const known = byClass[className];
  if (known !== undefined && sourceKey in known) {
    known[sourceKey] = known[sourceKey]! + n;
    return;
  }
  let total = namedBytes(byClass);
  const fits = (more: number) => total + more <= budget;
  const name = known !== undefined || (Object.keys(byClass).length < MAX_CLASSES && fits(bytes(className) + bytes(sourceKey))) ? className : OTHER_CLASSES;
  let perKey = byClass[name];
  if (perKey === undefined) {
    perKey = byClass[name] = {};
    total += bytes(name);
  }
  const key = sourceKey in perKey || fits(bytes(sourceKey)) ? sourceKey : OTHER_KEYS;
  if (!(key in perKey)) total += bytes(key);
  perKey[key] = (perKey[key] ?? 0) + n;
  byClassBytes.set(byClass, total);
}

/** Counts how the carried jobs of a slice were treated (rerouted, unmapped, unparsable). */
export function tallyCarried(counters: TransferCounters, jobs: readonly { readonly kind: string; readonly uniqueLock?: boolean }[]): void {
  for (const job of jobs) {
    if (job.uniqueLock) counters.uniqueLocked = (counters.uniqueLocked ?? 0) + 1;
    if (job.kind === 'rerouted') counters.rerouted++;
    else if (job.kind === 'unmapped') counters.unmapped++;
    else if (job.kind === 'unparsable') counters.unparsable++;
  }
}
