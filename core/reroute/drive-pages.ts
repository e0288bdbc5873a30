import { addCounters, emptyCounters, type RerouteCounters } from './reroute-counters.js';

export interface PageResult<C, K = RerouteCounters> {
  /** Where the next page starts; pass it back unchanged. */
  readonly cursor: C;
  readonly done: boolean;
  readonly counters: K;
  /**
   * The page sent the next page's first step ahead (a transfer slice's claim, claim-ahead.ts):
   * the next page runs whatever the deadline, the page limit or stopBefore say, so that no run
   * ends with it half done. A page that says so knows the next one may run (its caller's limits).
   */
  readonly holdsNext?: boolean;
}

export interface DriveLimits {
  /** Epoch milliseconds after which no new page is started. */
  readonly deadline?: number;
  readonly maxPages?: number;
  /** Called after every page with its result (progress, logging: one line per page, never per job). */
  readonly onPage?: (page: PageResult<unknown, unknown>) => void | Promise<void>;
  /** Asked after each page (and its onPage): true stops here, as the deadline does (a rate limit that cannot wait for one more page). */
  readonly stopBefore?: () => boolean;
  /** Test hook and clock injection. */
  readonly now?: () => number;
  /**
   * Given, a failure after at least one page was written does not throw: the run returns the
   * pages written so far (their counters, the cursor where the failed page starts, not done) and
   * hands the error here. The caller's next call starts at the failed page, and throws if that
   * page fails again before any other is written. Without it, the counters of every page an
   * invocation wrote before a failure would go with the error: a page task's Retry and Catch
   * keep only what the item held when the task started, so a summary would say 0 moved of a
   * queue whose first 49 pages had moved (a failure can repeat at most once this way: the next
   * call's first page either passes, and the item moved on, or throws).
   */
  readonly onFailureAfterProgress?: (error: unknown, pagesWritten: number) => void;
}

/** How to sum the counters of pages: re-route counters unless told otherwise. */
export interface CounterSum<K> {
  readonly empty: () => K;
  readonly add: (into: K, more: K) => K;
}

const rerouteSum: CounterSum<RerouteCounters> = { empty: emptyCounters, add: addCounters };

/**
 * Runs page after page of one operation until it is done, the deadline passes or the page limit
 * is reached, and returns the cursor to continue from with the summed counters. Nothing is kept
 * between calls but the cursor: a crash loses at most the counters of the page in flight.
 */
export async function drivePages<C, K = RerouteCounters>(
  page: (cursor: C) => Promise<PageResult<C, K>>,
  start: C,
  limits: DriveLimits = {},
  sum: CounterSum<K> = rerouteSum as unknown as CounterSum<K>,
): Promise<PageResult<C, K> & { pages: number }> {
  const run = new PageRun(start, limits, sum);
  try {
    while (await run.record(await page(run.cursor)));
  } catch (error) {
    if (!run.keepsProgressDespite(error)) throw error;
  }
  return run.result();
}

/** The pages written so far: summed counters, the cursor after them, and when to stop. */
class PageRun<C, K> {
  cursor: C;
  private readonly counters: K;
  private pages = 0;
  private done = false;

  constructor(
    start: C,
    private readonly limits: DriveLimits,
    private readonly sum: CounterSum<K>,
  ) {
    this.cursor = start;
    this.counters = sum.empty();
  }

  /** Accounts for one page written (then calls onPage); false when no page may follow it. */
  async record(result: PageResult<C, K>): Promise<boolean> {
    const { limits } = this;
    this.pages++;
    this.sum.add(this.counters, result.counters);
    this.cursor = result.cursor;
    // Before onPage, which may throw (a lost lock): a last page written is done whatever follows.
    this.done = result.done;
    await limits.onPage?.(result);
    if (result.done) return false;
    if (result.holdsNext === true) return true;
    if (limits.maxPages !== undefined && this.pages >= limits.maxPages) return false;
    if (limits.deadline !== undefined && (limits.now ?? Date.now)() >= limits.deadline) return false;
    return !limits.stopBefore?.();
  }

  /** True when the pages written so far are returned instead of `error` (onFailureAfterProgress). */
  keepsProgressDespite(error: unknown): boolean {
    const keep = this.limits.onFailureAfterProgress;
    if (keep === undefined || this.pages === 0) return false;
    keep(error, this.pages);
    return true;
  }

  result(): PageResult<C, K> & { pages: number } {
    return { cursor: this.cursor, done: this.done, counters: this.counters, pages: this.pages };
  }
}

/**
 * A page split in three, so that Node and Redis work at the same time (issue #18): `read` is one
 * page's reads (its ZSCAN calls), `examine` is Node's own work on their replies (no I/O), `apply` writes what
 * examine decided. `after` says where the page read leaves the cursor, or null when it was the last.
 */
export interface PipelinedPage<C, R, E, K> {
  readonly read: (cursor: C) => Promise<R>;
  readonly after: (read: R) => C | null;
  readonly examine: (read: R) => E;
  readonly apply: (examined: E) => Promise<PageResult<C, K>>;
}

/**
 * drivePages with the next page read ahead: page N+1's read is sent the moment page N's reply is
 * in, and examined while page N's writes run, so Redis runs the writes of one page while Node
 * examines the next. Writes stay strictly in page order, one page's after the last one's reply,
 * and the limits are checked between them exactly as drivePages does: a stop returns the cursor
 * after the last page written, and the page read ahead is dropped unwritten (a read costs
 * nothing to repeat). At most two pages are held at once.
 *
 * Safe for a scan whose reads do not depend on the writes before them (ZSCAN: its guarantees
 * hold whatever happens to the set between calls); not for a list slice read by position.
 */
export async function drivePipelinedPages<C, R, E, K = RerouteCounters>(
  page: PipelinedPage<C, R, E, K>,
  start: C,
  limits: DriveLimits = {},
  sum: CounterSum<K> = rerouteSum as unknown as CounterSum<K>,
): Promise<PageResult<C, K> & { pages: number }> {
  const run = new PageRun(start, limits, sum);
  // Read ahead only while another page may still be written: never past maxPages.
  const mayReadAhead = (read: number) => limits.maxPages === undefined || read < limits.maxPages;
  let reading: Promise<R> | null = handled(page.read(start));
  let read = 1;
  let writing: Promise<PageResult<C, K>> | null = null;
  try {
    for (;;) {
      let examined: E | null = null;
      if (reading !== null) {
        const reply: R = await reading;
        const next = page.after(reply);
        reading = next !== null && mayReadAhead(read) ? handled(page.read(next)) : null;
        if (reading !== null) read++;
        examined = page.examine(reply);
      }
      if (writing !== null) {
        const written: PageResult<C, K> = await writing;
        writing = null;
        if (!(await run.record(written))) break;
      }
      if (examined === null) break;
      writing = handled(page.apply(examined));
    }
  } catch (error) {
    // A read ahead failed: the write before it may still be running; let it finish (or fail)
    // before the error goes up, so that nothing of this run writes after it has returned.
    const written = writing === null ? null : await writing.catch(() => null);
    if (limits.onFailureAfterProgress === undefined) throw error;
    // Kept, a page written before the failure counts (and moves the cursor past it).
    if (written !== null) await run.record(written).catch(() => false);
    if (!run.keepsProgressDespite(error)) throw error;
  }
  return run.result();
}

/**
 * Marks a promise as handled: it is awaited later, after other awaits, and a rejection meanwhile
 * must not count as unhandled (which ends a Node process). Awaiting it still throws.
 */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}
