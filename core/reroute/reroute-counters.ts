/** A job named in a report: never its arguments, only what identifies it. */
export interface JobSample {
  readonly jid: string | null;
  readonly className: string | null;
  /** Why it was not moved: "unmapped class", "invalid JSON at byte 12"… */
  readonly reason: string;
}

/**
 * What one page, slice or whole run did. With a dry run, `moved` and `quarantined` count what
 * would have been done.
 */
export interface RerouteCounters {
  /**
   * Jobs looked at. A set entry this run rewrote and ZSCAN returns again is not counted again
   * (rewritten-entries.ts); only Redis's own rehashing can still show an entry twice (rare).
   */
  scanned: number;
  moved: number;
  /** Already on their destination before the run: nothing to do. */
  alreadyRouted: number;
  /** Class (or queue, for renames) with no destination: left in place or quarantined. */
  unmapped: number;
  /** Not a JSON object, invalid UTF-8, no class: left in place or quarantined. */
  unparsable: number;
  /** Gone by the time we moved it: Sidekiq's poller or a consumer took it, which is fine. */
  vanished: number;
  /** Sorted sets: the rewritten entry already existed; the original was left as it was. */
  conflicts: number;
  /** Sent to the quarantine list (`--unmapped quarantine`). */
  quarantined: number;
  /**
   * Of the unparsable jobs, those sent to a quarantine list (counted as they are examined, as
   * `quarantinedClasses` is): the rest were left in place, and the summary says which is which.
   */
  quarantinedUnparsable: number;
  /**
   * Unmapped or unparsable jobs left on a live queue although `--unmapped quarantine` was asked:
   * a queue something still routes to (GitLab's `mailers`, `default`, a rule's destination, the
   * queues a rollback put jobs on) is never emptied.
   */
  keptOnLiveQueues: number;
  /**
   * Queues: jobs pushed to the queue after its work started. They are not moved by this run (it
   * moves exactly the jobs present when the queue's work started); the next run or the drain
   * check finds them. At least this many: a worker fetching from the queue meanwhile hides some.
   */
  arrived: number;
  /**
   * Queues (`append`): jobs that were on the queue when its work started and that the pass did not
   * reach, jobs a stopping Sidekiq pushed back under it having taken their turn (queue-slice.ts,
   * `ceiling`). Still on the queue, not moved; not arrivals. Absent when none.
   */
  unreached?: number;
  /**
   * Jobs sent to a new queue that carry a sidekiq-unique-jobs digest (`lock_digest`): from the
   * gem's 8.0.8 on they run under their new queue's digest (docs/guarantees-and-limits.md).
   */
  uniqueLocked: number;
  /**
   * A dry run of a set: moves counted after it had DRY_RUN_REWRITES_KEPT rewrites in memory
   * (set-page.ts), checked for conflicts only against those; absent when none.
   */
  uncheckedMoves?: number;
  /**
   * Attempts whose work these counters may not include (absent when none): a page task retried
   * after an attempt of the same input that started and never answered (a retry while it still
   * ran, or after it ran out of time), or a page call whose reply was lost on a dropped or
   * timed-out connection (it may have run). Their jobs were moved once all the same (every step
   * is atomic or resumable), but the counts may be short; the keys say where jobs are (drain-check).
   */
  uncountedAttempts?: number;
  /** Moves per destination queue. */
  movedTo: Record<string, number>;
  /** Unmapped jobs left in place, per routed class (bounded; see MAX_CLASSES). */
  unmappedClasses: Record<string, number>;
  /**
   * Sets: entries left in place, per the queue their payload names, where Sidekiq's poller pushes
   * them when due (a dead one, when retried; `default` for none): the unmapped ones, and the
   * originals of conflicts (their rewrite was in the set already; the original stays as it was,
   * naming its old queue). Counted by the pages as they read the set and as the writes reply (a
   * dry run: as it counts its conflicts), for the summary to ask whether anybody fetches from those
   * queues (summarize-step.ts leftUnheardInSets). Named as `movedTo` is (MAX_DESTINATIONS names of
   * MAX_DESTINATION_NAME_BYTES together, the rest under OTHER_QUEUES). Absent when none (and in
   * counters of older versions, which counted the unmapped ones only). The name is kept for the
   * counters a run planned by an earlier build carries in its state.
   */
  unmappedNaming?: Record<string, number>;
  /**
   * Sets: unparsable entries left in place (part of `unparsable`), whose queue cannot be read:
   * where the poller would push them is not known (summarize-step.ts leftInSetsUnreadable).
   * Absent when none (and in counters of older versions).
   */
  unparsableInSets?: number;
  /** Unmapped jobs sent to a quarantine list, per routed class (bounded; see MAX_CLASSES). */
  quarantinedClasses: Record<string, number>;
  /** A few unmapped and unparsable jobs, for the report (bounded; see MAX_SAMPLES). */
  samples: { unmapped: JobSample[]; unparsable: JobSample[] };
}

export const MAX_SAMPLES = 5;
export const MAX_CLASSES = 50;

/**
 * Destination queues one item's counters name; jobs sent to others are counted under
 * OTHER_QUEUES. Counters travel in Step Functions states (256 KiB each), and a Map batch returns
 * ten items at once: the sets of a rollback to a queue per worker named a thousand queues each,
 * and the batch's state overflowed. The run's totals keep as many (run-tally.ts).
 */
export const MAX_DESTINATIONS = 50;
export const OTHER_QUEUES = '(other queues)';

/**
 * UTF-8 bytes of the destination names one item's counters (and the totals) name at most: fifty
 * names of 512 bytes (the longest a run takes: queue-name-bytes.ts) are 25 KB an item, and a Map
 * batch of ten such items overflowed its 256 KiB output (267,126 bytes) after moving every job.
 * Fifty names of GitLab's length (under 100 bytes) stay well inside it.
 */
export const MAX_DESTINATION_NAME_BYTES = 8_192;

/**
 * UTF-8 bytes of destination names an item's counters name in a dry run that carries more than
 * 64 KiB of routing and classes (dry-run-carry.ts): that routing travels in every state beside the
 * batch's ten items, and with names of 512 bytes, eight kilobytes of them an item took a Map's
 * output to 273,210 bytes (States.DataLimitExceeded, test/workflow/cli-dry-run-long-names). The
 * jobs of the destinations cut are counted under OTHER_QUEUES, and the summary says so.
 */
export const DRY_RUN_DESTINATION_NAME_BYTES = 2_048;

/** Routing and classes a dry run carries (bytes) above which its items name fewer destinations. */
export const DRY_RUN_CARRY_NAMED_IN_FULL = 65_536;

/**
 * `to` naming destinations of at most `bytes` of names together (in its order), the others'
 * jobs counted under OTHER_QUEUES; `to` itself when it fits.
 */
export function destinationsWithin(to: Record<string, number>, bytes: number): Record<string, number> {
  let used = 0;
  const out: Record<string, number> = {};
  for (const [queue, n] of Object.entries(to)) {
    const size = Buffer.byteLength(queue, 'utf8');
    const key = queue === OTHER_QUEUES || used + size <= bytes ? queue : OTHER_QUEUES;
    if (key === queue && queue !== OTHER_QUEUES) used += size;
    out[key] = (out[key] ?? 0) + n;
  }
  return out;
}

/** Adds jobs per destination into `into`, naming at most MAX_DESTINATIONS, of MAX_DESTINATION_NAME_BYTES together. */
export function addDestinations(into: Record<string, number>, more: Record<string, number>): void {
  let named = Object.keys(into);
  let bytes = named.reduce((sum, queue) => sum + Buffer.byteLength(queue, 'utf8'), 0);
  for (const [queue, n] of Object.entries(more)) {
    const fits = named.length < MAX_DESTINATIONS && bytes + Buffer.byteLength(queue, 'utf8') <= MAX_DESTINATION_NAME_BYTES;
    const key = queue in into || fits ? queue : OTHER_QUEUES;
    if (!(key in into)) {
      named = [...named, key];
      bytes += Buffer.byteLength(key, 'utf8');
    }
    into[key] = (into[key] ?? 0) + n;
  }
}
/**
 * Characters of a class name, jid or reason that counters keep. They come from payloads, which
 * may hold anything: counters travel in Step Functions states (256 KiB each, a batch of ten items'
 * counters in one), so a single class name of 300 KB would fail every page of its set, on every
 * run. GitLab's longest worker class names are under 80 characters.
 */
export const MAX_REPORTED_CHARS = 160;

/** `text` cut to MAX_REPORTED_CHARS (an ellipsis marks the cut; never half a surrogate pair). */
export function reportedText(text: string): string {
  if (text.length <= MAX_REPORTED_CHARS) return text;
  let end = MAX_REPORTED_CHARS - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

/** A sample as counters keep it: each text bounded (reportedText). */
export function reportedSample(sample: JobSample): JobSample {
  const { jid, className, reason } = sample;
  return { jid: jid === null ? null : reportedText(jid), className: className === null ? null : reportedText(className), reason: reportedText(reason) };
}

export function emptyCounters(): RerouteCounters {
  return {
    scanned: 0,
    moved: 0,
    alreadyRouted: 0,
    unmapped: 0,
    unparsable: 0,
    vanished: 0,
    conflicts: 0,
    quarantined: 0,
    quarantinedUnparsable: 0,
    uniqueLocked: 0,
    keptOnLiveQueues: 0,
    arrived: 0,
    movedTo: {},
    unmappedClasses: {},
    quarantinedClasses: {},
    samples: { unmapped: [], unparsable: [] },
  };
}

const SCALARS = ['scanned', 'moved', 'alreadyRouted', 'unmapped', 'unparsable', 'vanished', 'conflicts', 'quarantined', 'quarantinedUnparsable', 'keptOnLiveQueues', 'arrived', 'uniqueLocked'] as const;

/**
 * Adds `more` into `into` (and returns it); samples and class tallies stay bounded. Counters an
 * older version carried in a state (without the newer fields) add as zeros.
 */
export function addCounters(into: RerouteCounters, more: RerouteCounters): RerouteCounters {
  into.quarantinedClasses ??= {};
  for (const k of SCALARS) into[k] = (into[k] ?? 0) + (more[k] ?? 0);
  if ((more.uncheckedMoves ?? 0) > 0) into.uncheckedMoves = (into.uncheckedMoves ?? 0) + more.uncheckedMoves!;
  if ((more.unreached ?? 0) > 0) into.unreached = (into.unreached ?? 0) + more.unreached!;
  if ((more.unparsableInSets ?? 0) > 0) into.unparsableInSets = (into.unparsableInSets ?? 0) + more.unparsableInSets!;
  if ((more.uncountedAttempts ?? 0) > 0) into.uncountedAttempts = (into.uncountedAttempts ?? 0) + more.uncountedAttempts!;
  addDestinations(into.movedTo, more.movedTo ?? {});
  if (more.unmappedNaming && Object.keys(more.unmappedNaming).length > 0) addDestinations((into.unmappedNaming ??= {}), more.unmappedNaming);
  for (const [cls, n] of Object.entries(more.unmappedClasses)) tallyClass(into, cls, n);
  for (const [cls, n] of Object.entries(more.quarantinedClasses ?? {})) tallyClass(into, cls, n, 'quarantinedClasses');
  for (const kind of ['unmapped', 'unparsable'] as const) {
    for (const s of more.samples[kind]) addSample(into, kind, s);
  }
  return into;
}

/** Counts `n` unmapped jobs of `className`: left in place (default) or quarantined. */
export function tallyClass(counters: RerouteCounters, name: string, n = 1, tally: 'unmappedClasses' | 'quarantinedClasses' = 'unmappedClasses'): void {
  const classes = (counters[tally] ??= {});
  const className = reportedText(name);
  if (className in classes || Object.keys(classes).length < MAX_CLASSES) {
    classes[className] = (classes[className] ?? 0) + n;
  } else {
    classes['(other classes)'] = (classes['(other classes)'] ?? 0) + n;
  }
}

export function addSample(counters: RerouteCounters, kind: 'unmapped' | 'unparsable', sample: JobSample): void {
  const list = counters.samples[kind];
  if (list.length < MAX_SAMPLES) list.push(reportedSample(sample));
}

/** The `n` most frequent unmapped classes (left in place, or quarantined), most frequent first. */
export function topUnmappedClasses(counters: RerouteCounters, n = 10, tally: 'unmappedClasses' | 'quarantinedClasses' = 'unmappedClasses'): [string, number][] {
  return Object.entries(counters[tally] ?? {})
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, n);
}
