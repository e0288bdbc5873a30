import type { Redis, RedisKey } from 'ioredis';
import { cronDefinitionsAfterWalk, cronNamespacesLook, type CronLook } from '../cron/cron-definitions.js';
import { inspectJob } from '../payload/inspect-job.js';
import { readEvictionPolicy } from '../redis/eviction-policy.js';
import { jobsWithinBytes, MAX_ENTRIES_PER_SCAN_CALL, meanBytes, PROBE_JOBS, probeJobs } from '../redis/page-bytes.js';
import { otherSidekiqPrefixes, type OtherPrefix } from '../redis/sidekiq-prefixes.js';
import { classifyRedisError } from '../redis/redis-errors.js';
import { refuseForeignSidekiqSets } from '../redis/sidekiq-set-types.js';
import { NEVER_DUE_SETS, SidekiqKeys, SORTED_SET_NAMES, type SortedSetName } from '../redis/sidekiq-keys.js';
import { discoverQueuesWithin, refuseQueueKeysOfAnotherType } from '../reroute/discover-queues.js';
import { shareOf, type KeyspaceCut, type ScanBound } from '../redis/bounded-scan.js';
import { FETCHER_LIST_LIMIT, scanFetcherLists } from './fetcher-lists.js';
import { lookForLeftovers } from './leftover-keys.js';
import { KEYSPACE_LOOKS, type DrainReport, type QueueState, type SetState } from './drain-report.js';
import { censusProcesses, type ProcessCensus } from './live-processes.js';
import { silentHolders, withSilentOwners } from './silent-holders.js';
import { judgeDrain } from './judge-drain.js';
import { refuseRetiredKeyNames } from './retired-key-names.js';
import { jobsInOneLook } from './one-look.js';
import { quarantineListsSinceLook } from './quarantine-lists.js';
import { walkForLooks } from '../redis/shared-walk.js';
import { runningJobs } from './running-jobs.js';
import type { BeatWaitOptions } from './await-beats.js';
import { confirmDrained } from './confirm-drained.js';
import { readInWindows } from './queue-windows.js';
import type { MoveTargetState } from './move-target.js';

export interface DrainCheckOptions {
  /** The report of the previous check, for rates, ETA and arrivals. */
  readonly previous?: DrainReport;
  /** Queues that should receive nothing any more (old routing destinations): arrivals are reported. */
  readonly retiredQueues?: readonly string[];
  /**
   * Newest jobs read per retired queue to count arrivals since the previous check (default 1,000),
   * in reads of at most MAX_PAGE_BYTES (page-bytes.ts), stopping at the first older job.
   */
  readonly sampleSize?: number;
  /**
   * Most entries read per set (ZSCAN, 200 per call, fewer when they are large: page-bytes.ts)
   * to count which queue they will land in (default 1,000,000). Beyond it the counts are extrapolated and marked estimated, and the
   * verdict is never `drained`.
   */
  readonly countLimit?: number;
  /**
   * Epoch ms after which no further window of queues is read (queue-windows.ts; the first always
   * is; a scoped check reads the retired queues first): those not read are named
   * (`queuesCutShort`), their jobs uncounted, and the verdict is never `drained`. Across a slow
   * network, thousands of queues or queues of large jobs outlasted a deployed check's timeout, and
   * a check that times out reports nothing at all. Default: none.
   */
  readonly readQueuesUntil?: number;
  /**
   * Epoch ms after which no more set entries are read (each set still gets its first page): what
   * is left is extrapolated and marked estimated, as beyond countLimit. A deployed check has a
   * timeout; millions of entries on a slow Redis would outlast it, and a check that times out
   * reports nothing at all.
   */
  readonly readSetsUntil?: number;
  /**
   * Epoch ms after which the second reading of the sets, after the wait for heartbeats
   * (confirm-drained.ts), reads no more entries (each set still gets its first page), bounded
   * otherwise as the first (countLimit). Default: readSetsUntil.
   */
  readonly rereadSetsUntil?: number;
  /**
   * Epoch ms after which the looks over the whole keyspace (queue lists the `queues` set does not
   * name, in-flight keys and quarantine lists, workers' private lists, sidekiq-cron namespaces)
   * read no further SCAN page (each its share of the time, each its first page whatever the time):
   * a walk of every key, about a second a million keys at loopback, would outlast a deployed check
   * on a Redis with tens of millions of other keys. A look cut short is said
   * (`keyspaceLookCutShort`), and the verdict is then never `drained`; the queues the `queues` set
   * names, `cron_jobs` and `cron_jobs:default` are read whatever the time. Default: none.
   */
  readonly lookUntil?: number;
  /**
   * The look for Sidekiq data under the prefix made before the check (checkSidekiqPrefixLook)
   * was cut short by its time with nothing found: how far it got. Said with the looks the check's
   * own time stopped (`keyspaceLookCutShort`): whether there is Sidekiq data under the prefix is
   * not known, so the verdict is never `drained`.
   */
  readonly sidekiqDataLookCutShort?: KeyspaceCut;
  /**
   * How to give a check that its time cut short more time, said with what it did not look at
   * (`keyspaceLookCutShort.moreTime`): the CLI's option, or for the deployed check the CLI.
   */
  readonly moreTime?: string;
  readonly staleAfterSeconds?: number;
  /**
   * What the caller saw of the target of a move out of this Redis (lookAtMoveTarget, move-target.ts):
   * in the report, and, when that target lost its data, in the verdict.
   */
  readonly moveTarget?: MoveTargetState;
  /**
   * The wait for live processes' heartbeats before a `drained` verdict (confirm-drained.ts): its
   * bound (the check's time) and the line said when it starts. Default: at most BEAT_WAIT_CAP_MS.
   */
  readonly beatWait?: BeatWaitOptions;
  /** How the Redis is named in the report (a redacted URL). */
  readonly name?: string;
  readonly now?: () => number;
}

/**
 * What is left on a Redis and whether anyone will ever run it: per queue its depth, the age of its
 * oldest job and its live listeners; per set its size, what comes due within the hour and what
 * will land on a queue nobody fetches; in-flight leftovers of interrupted transfers; a verdict.
 * Reads only, with bounded work per call (LLEN, LINDEX, ZCOUNT, ZSCAN pages of 200), so it is
 * safe to run every minute against production. Set entries are counted, not sampled, up to
 * `countLimit` per set: a verdict that sends an operator to the next step rests on counts. Every
 * read of jobs also carries at most about MAX_PAGE_BYTES (page-bytes.ts): the deployed check has
 * 512 MB, and 1,000 entries of 2 MB in one ZSCAN reply would kill it on every run (its alarms
 * silent); a set of large jobs is read in more, smaller pages instead.
 */
export async function drainCheck(redis: Redis, keys: SidekiqKeys, options: DrainCheckOptions = {}): Promise<DrainReport> {
  const now = (options.now ?? Date.now)() / 1000;
  const sampleSize = options.sampleSize ?? 1000;
  try {
    // A `queues`, `processes` or sorted set of another type: named, rather than an unnamed WRONGTYPE.
    await refuseForeignSidekiqSets(redis, keys, options.name ?? 'this Redis', { sortedSets: true });
    // A retired queue given as its key name: scoped to a queue never there, the check said DRAINED.
    await refuseRetiredKeyNames(redis, keys, options.retiredQueues ?? []);
    const census = await censusProcesses(redis, keys, now, options.staleAfterSeconds);
    const listening = (queue: string) => census.listeners.get(queue) ?? 0;
    // Of a queue's listeners, those not heard from for several beats (they may have been killed): said apart.
    const silentListening = (queue: string) => listening(queue) - (census.beatingListeners.get(queue) ?? 0);
    const retired = new Set(options.retiredQueues ?? []);
    const scoped = retired.size > 0;

    // Six looks over the keyspace share the looks' time (lookUntil): the discovery of queue lists
    // the `queues` set does not name (those it names are always read) its sixth now, before the
    // sets; after them, in-flight keys and quarantine lists (one walk), workers' private lists
    // (two), other prefixes' keys (three a prefix, one share) and, after the atomic look,
    // sidekiq-cron namespaces (one, with the late walk for quarantine lists) share what is left.
    const bound: ScanBound = options.lookUntil === undefined ? {} : { until: options.lookUntil };
    // The retired queues too: a scoped check reads them whatever the time.
    const discovery = await discoverQueuesWithin(redis, keys, shareOf(bound, 6), [...retired]);
    refuseQueueKeysOfAnotherType(discovery.skipped, (queue) => !scoped || retired.has(queue), options.name ?? 'this Redis', 'nothing was counted.');
    const names = discovery.queues;
    // Several queues at once (queue-windows.ts): one at a time, a check across a slow network of
    // GitLab's queue per worker outlasted the deployed function's time. Until the queues' time
    // (readQueuesUntil): what is not read by then is named, never taken for empty. Scoped, the
    // retired queues first, since they are what `remaining` counts.
    const order = scoped ? [...names.filter((q) => retired.has(q)), ...names.filter((q) => !retired.has(q))] : names;
    const read = await readInWindows(
      order,
      async (queue) => {
        const key = keys.queue(queue);
        const [depth, oldest] = await Promise.all([redis.llen(key), redis.lindexBuffer(key, -1)]);
        const enqueuedAt = oldest === null ? null : enqueuedAtOf(oldest);
        const silentListeners = silentListening(queue);
        const state: QueueState = { queue, depth, oldestAgeSeconds: enqueuedAt === null ? null : Math.max(0, now - enqueuedAt), listeners: listening(queue), ...(silentListeners > 0 ? { silentListeners } : {}) };
        return { oldestBytes: oldest?.length, state: options.previous && retired.has(queue) ? { ...state, arrivedSinceLastCheck: await arrivalsSince(redis, key, options.previous.checkedAt, sampleSize) } : state };
      },
      (r) => r.oldestBytes,
      options.readQueuesUntil === undefined ? {} : { until: options.readQueuesUntil },
    );
    const readNames = new Set(read.map((r) => r.state.queue));
    // In the names' order, as when every queue is read.
    const byName = new Map(read.map((r) => [r.state.queue, r.state]));
    const queues: QueueState[] = names.flatMap((q) => byName.get(q) ?? []);
    const unread = order.filter((q) => !readNames.has(q));
    const queuesCutShort = unread.length === 0 ? undefined : { read: queues.length, queues: names.length, unread: unread.slice(0, UNREAD_QUEUES_NAMED) };

    const countLimit = options.countLimit ?? DEFAULT_COUNT_LIMIT;
    // Every set's entries, counted by the queue they name, within the count limit and a time.
    const readSets = async (at: number, until: number) => {
      const read = {} as Record<SortedSetName, SetState>;
      const limits = { countLimit, until, clock: Date.now };
      onlySilent.entries.clear();
      for (const set of SORTED_SET_NAMES) read[set] = await setState(redis, keys.sortedSet(set), set, at, limits, (q) => listening(q) > 0, retired, SILENT_HEARD_SETS.has(set) ? onlySilent : undefined);
      return read;
    };
    // Queues only live processes not heard from for several beats listen to: schedule and retry
    // entries naming them are counted per queue as they are read (setEntriesHeardOnlyBySilent).
    const onlySilent = { heard: (q: string) => listening(q) > 0 && (census.beatingListeners.get(q) ?? 0) === 0, entries: new Map<string, number>() };
    const sets = await readSets(now, options.readSetsUntil ?? Infinity);
    const setEntriesHeardOnlyBySilent = entriesOnlySilentListenFor(onlySilent.entries, sets, census);

    const orphanQueues = queues.filter((q) => q.depth > 0 && q.listeners === 0).map((q) => q.queue);
    const queued = queues.filter((q) => q.listeners === 0).reduce((n, q) => n + q.depth, 0);
    const heardOnlyBySilent = onlySilentListen(queues, census);
    const scheduled = sets.schedule.orphaned + sets.retry.orphaned;
    // In-flight keys and quarantine lists in one walk of the keyspace, then the private lists in
    // two, cron namespaces in one, other prefixes' keys: each its share of what is left.
    const leftovers = await lookForLeftovers(redis, keys, { quarantine: true, inflight: true }, shareOf(bound, 5));
    const inflight = leftovers.inflight;
    const inflightJobs = inflight.reduce((n, l) => n + l.size, 0);
    // Jobs nobody will run and no transfer carries: they keep any scope from being drained.
    const walkedQuarantine = leftovers.quarantine;
    const quarantined = walkedQuarantine.reduce((n, l) => n + l.size, 0);
    // Jobs workers took and have not finished: they come back here if a worker dies.
    const fetcherLook = await scanFetcherLists(redis, keys, census.processes, shareOf(bound, 4, 2));
    const fetched = withSilentOwners(
      fetcherLook.lists.filter((l) => !scoped || retired.has(l.queue)),
      census.processes,
    );
    const taken = fetched.reduce((n, l) => n + l.size, 0);
    // Jobs live processes run that are in no list (Sidekiq's own fetch): only their heartbeat says so.
    const running = await runningJobs(redis, keys, census.processes, fetched, (queue) => !scoped || retired.has(queue));
    const notHeardFrom = silentHolders(census.processes, fetched, running);
    // Other prefixes' queue lists, working lists and keys of ours: SCANs of the whole keyspace too.
    const otherPrefixes = await withLiveProcesses(redis, await otherSidekiqPrefixes(redis, keys, [], shareOf(bound, 2)), now, options.staleAfterSeconds);
    const otherCuts = otherPrefixes.flatMap((p) => (p.lookCutShort ? [p.lookCutShort] : []));
    const cron = (cronLook: CronLook) => cronLook.definitions.map(({ name, key, queue, enabled, problem }) => {
      const silentListeners = queue === null ? 0 : silentListening(queue);
      // A queue not known is said with why (judge-drain.ts: never drained over an enabled one when scoped).
      const unknown = queue === null ? { queueUnknown: problem ?? 'its message names no queue this tool reads' } : {};
      return { name, key, queue, ...unknown, enabled, listeners: queue === null ? 0 : listening(queue), ...(silentListeners > 0 ? { silentListeners } : {}) };
    });
    const depth = queues.filter((q) => !scoped || retired.has(q.queue)).reduce((n, q) => n + q.depth, 0);
    const counted = scoped
      ? depth + sets.schedule.toRetiredQueues + sets.retry.toRetiredQueues + inflightJobs + quarantined + taken + (running?.jobs ?? 0)
      : depth + sets.schedule.total + sets.retry.total + inflightJobs + quarantined + taken + (running?.jobs ?? 0);
    // Nothing counted, read key after key: once more, every one at once (one-look.ts), since
    // Sidekiq may have moved a job from a key not yet read to one already read meanwhile.
    const places = {
      queues: scoped ? [...retired] : names,
      lists: [...inflight.filter((l) => l.type === 'list').map((l) => l.key), ...walkedQuarantine.map((l) => l.key), ...fetched.map((l) => l.key)],
      sets: [...(scoped ? [] : [keys.sortedSet('schedule'), keys.sortedSet('retry')]), ...inflight.filter((l) => l.type === 'zset').map((l) => l.key)],
      newQueues: !scoped,
    };
    // Not with queues left unread: the look would count their jobs as moved during the check (and
    // the verdict is not `drained` anyway).
    const movedAtLook = counted > 0 || queuesCutShort ? 0 : await jobsInOneLook(redis, keys, places);
    // That look reads the quarantine lists the walk found: one a concurrent quarantining run
    // created since is walked for once more, after it (quarantine-lists.ts). Until the time the
    // beat wait would start: cut short, the look is said, never drained.
    const lateWalkUntil = options.beatWait?.until ?? options.lookUntil;
    const lateWalkBound: ScanBound = lateWalkUntil === undefined ? {} : { until: lateWalkUntil };
    // That walk rides on the walk for sidekiq-cron namespaces, after the look (shared-walk.ts): a
    // walk of its own visited every key once more (3,000,000 keys: 41-51 s became 59-62 s).
    // In-flight keys too: a transfer's claim since the walk moved jobs into one the look did not read.
    const lateLook = counted > 0 || movedAtLook > 0 || queuesCutShort ? undefined : quarantineListsSinceLook(redis, keys, [...places.lists, ...places.sets]);
    const cronNamespaces = { ...cronNamespacesLook(keys), ...(bound.until === undefined ? {} : { until: bound.until }) };
    // Each look stops at its own time; the walk, once both have.
    const walkUntil = !lateLook ? bound.until : bound.until === undefined || lateWalkUntil === undefined ? undefined : Math.max(bound.until, lateWalkUntil);
    const walked = await walkForLooks(redis, lateLook ? [cronNamespaces, { ...lateLook, ...lateWalkBound }] : [cronNamespaces], walkUntil === undefined ? {} : { until: walkUntil }, lateLook ? `${lateLook.doing} and sidekiq-cron namespaces` : `Reading sidekiq-cron definitions under ${keys.prefix || '(no prefix)'}`);
    const cronLook = await cronDefinitionsAfterWalk(redis, keys, cronNamespaces, walked[0]!);
    // Scoped, the definitions are judged against the retired queues (judge-drain.ts), and they
    // were read after the look: one that pushed to a retired queue after it and was re-pointed
    // before being read (run --rewrite-cron, a restart) left a job no look saw, in a queue the
    // check said DRAINED, and no beat wait follows when no process of the scope fetches. So the
    // places once more, every one at once, after the definitions were read.
    const movedDuringCheck = movedAtLook + (scoped && lateLook ? await jobsInOneLook(redis, keys, places) : 0);
    const late = lateLook ? await lateLook.result(walked[1]!) : undefined;
    const quarantine = late && late.lists.length > 0 ? byKey([...walkedQuarantine, ...late.lists]) : walkedQuarantine;
    const lateInflight = late?.inflight ?? [];
    const inflightNamed = lateInflight.length > 0 ? byKey([...inflight, ...lateInflight]) : inflight;
    const lateJobs = [...(late?.lists ?? []), ...lateInflight].reduce((n, l) => n + l.size, 0);
    const remaining = counted + movedDuringCheck + lateJobs;
    const keyspaceLookCutShort = lookCutShort([
      [KEYSPACE_LOOKS.data, options.sidekiqDataLookCutShort],
      [KEYSPACE_LOOKS.queues, discovery.cutShort],
      [KEYSPACE_LOOKS.leftovers, leftovers.cutShort],
      // The walk for quarantine lists and in-flight keys after the atomic look (quarantine-lists.ts).
      [KEYSPACE_LOOKS.leftovers, late?.cutShort],
      [KEYSPACE_LOOKS.fetched, fetcherLook.cutShort === 'time' ? fetcherLook.reached : undefined],
      [KEYSPACE_LOOKS.cron, cronLook.cutShort],
      [KEYSPACE_LOOKS.otherPrefixes, otherCuts.length === 0 ? undefined : { lookedAt: Math.min(...otherCuts.map((c) => c.lookedAt)), keys: Math.max(...otherCuts.map((c) => c.keys)) }],
    ]);
    const readyNow = scoped ? depth : depth + sets.schedule.dueNow + sets.retry.dueNow;

    const partial = {
      checkedAt: now,
      redis: options.name ?? 'redis',
      prefix: keys.prefix,
      processes: {
        live: census.processes.filter((p) => p.live && !p.quiet).length,
        quiet: census.processes.filter((p) => p.live && p.quiet).length,
        stale: census.processes.filter((p) => !p.live).length,
      },
      queues,
      sets,
      orphans: { queued, scheduled, total: queued + scheduled, queues: orphanQueues },
      ...(heardOnlyBySilent ? { heardOnlyBySilent } : {}),
      ...(setEntriesHeardOnlyBySilent ? { setEntriesHeardOnlyBySilent } : {}),
      inflight: inflightNamed,
      quarantine,
      fetched,
      ...(running ? { running } : {}),
      ...(notHeardFrom.length > 0 ? { notHeardFrom } : {}),
      cron: cron(cronLook),
      ...(cronLook.unread ? { cronUnread: cronLook.unread } : {}),
      otherPrefixes,
      remaining,
      readyNow,
      ...(movedDuringCheck > 0 ? { movedDuringCheck } : {}),
      maxmemoryPolicy: await readEvictionPolicy(redis),
      ...(scoped ? { retiredQueues: [...retired] } : {}),
      ...(keyspaceLookCutShort ? { keyspaceLookCutShort: { ...keyspaceLookCutShort, ...(options.moreTime ? { moreTime: options.moreTime } : {}) } } : {}),
      ...(queuesCutShort ? { queuesCutShort } : {}),
      ...(options.moreTime && (queuesCutShort || Object.values(sets).some((s) => s.readBeforeTimeRanOut !== undefined)) ? { moreTime: options.moreTime } : {}),
      // Stopped at its limit, the look for private lists found a floor: said, never drained.
      ...(fetcherLook.cutShort === 'lists' ? { fetchedListsCutShort: { read: fetcherLook.lists.length, limit: FETCHER_LIST_LIMIT } } : {}),
      ...(options.moveTarget ? { moveTarget: options.moveTarget } : {}),
    };
    const report = { ...partial, verdict: judgeDrain(partial, options.previous) };
    if (report.verdict.state !== 'drained') return report;
    // Nothing found: a job a live process fetched less than a beat ago is in no list and in no
    // heartbeat yet. Confirmed once each has beaten twice, or not drained (confirm-drained.ts).
    // The look after that wait reads the sets again as this one did (the same count limit; a time
    // of its own, after the wait): a job that failed into `retry` meanwhile is there.
    // After the wait, the walk for quarantine lists has the time the second reading of the sets has.
    const rereadWalkUntil = options.rereadSetsUntil ?? lateWalkUntil;
    const rereadWalkBound: ScanBound = rereadWalkUntil === undefined ? {} : { until: rereadWalkUntil };
    const rereadSets = (at: number) => readSets(at, options.rereadSetsUntil ?? options.readSetsUntil ?? Infinity);
    return await confirmDrained(redis, keys, report, { retired, places, rereadSets, ...(options.moreTime ? { moreTime: options.moreTime } : {}), ...(options.previous ? { previous: options.previous } : {}), ...(options.staleAfterSeconds !== undefined ? { staleAfterSeconds: options.staleAfterSeconds } : {}), nowSeconds: now, wait: options.beatWait ?? {}, lateWalk: rereadWalkBound });
  } catch (error) {
    throw classifyRedisError(error, `Checking what is left on ${options.name ?? 'Redis'}`);
  }
}


/**
 * Queues a report names when the queues' time ran out (DrainReport.queuesCutShort.unread): the
 * first of them in the order the check reads them; the count says how many in all. GitLab's
 * names reach 100 characters, and the report is remembered on the Redis and returned by the
 * deployed function: thousands of names would make it hundreds of kilobytes.
 */
export const UNREAD_QUEUES_NAMED = 100;

/** Quarantine lists (or in-flight keys) sorted by key, as the walk's (leftover-keys.ts). */
function byKey<T extends { readonly key: string }>(lists: readonly T[]): T[] {
  return [...lists].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** DrainReport.keyspaceLookCutShort: the looks the time stopped, and how far the shortest got. */
function lookCutShort(looks: readonly (readonly [readonly string[], KeyspaceCut | undefined])[]): DrainReport['keyspaceLookCutShort'] {
  const cut = looks.filter((l): l is readonly [readonly string[], KeyspaceCut] => l[1] !== undefined);
  if (cut.length === 0) return undefined;
  // A look walked for twice (quarantine lists) is named once.
  return { looks: [...new Set(cut.flatMap(([names]) => names))], lookedAt: Math.min(...cut.map(([, c]) => c.lookedAt)), keys: Math.max(...cut.map(([, c]) => c.keys)) };
}

function enqueuedAtOf(payload: Buffer): number | null {
  const job = inspectJob(payload);
  return job.kind === 'job' ? job.enqueuedAt : null;
}

/**
 * Jobs enqueued after `since`, counted from the newest end of the list (at most `limit` read): a
 * few first (PROBE_JOBS, which also tell their size), then reads within MAX_PAGE_BYTES, until the
 * first job enqueued before `since`. A producer pushing between two reads shifts the jobs the next
 * one reads: some are counted twice, which can only overstate arrivals (and happens only while
 * they arrive).
 */
async function arrivalsSince(redis: Redis, key: RedisKey, since: number, limit: number): Promise<number> {
  let n = 0;
  let bytesPerJob: number | undefined;
  for (let read = 0; read < limit; ) {
    const want = read === 0 ? Math.min(PROBE_JOBS, limit) : jobsWithinBytes(bytesPerJob, limit - read);
    const page = await redis.lrangeBuffer(key, read, read + want - 1);
    for (const payload of page) {
      const at = enqueuedAtOf(payload);
      if (at === null || at <= since) return n;
      n++;
    }
    if (page.length < want) return n;
    read += want;
    bytesPerJob = meanBytes(page, bytesPerJob);
  }
  return n;
}

/**
 * Entries a check reads per set before it extrapolates: 5,000 ZSCAN calls of 200, tens of seconds
 * of reading and parsing (measured: 200,000 entries of ~650 bytes in about 10 s on loopback). A
 * deployed check also stops at its time budget (readSetsUntil).
 */
export const DEFAULT_COUNT_LIMIT = 1_000_000;

async function setState(
  redis: Redis,
  key: string,
  set: SortedSetName,
  now: number,
  limits: { readonly countLimit: number; readonly until: number; readonly clock: () => number },
  listened: (queue: string) => boolean,
  retired: ReadonlySet<string>,
  onlySilent?: { readonly heard: (queue: string) => boolean; readonly entries: Map<string, number> },
): Promise<SetState> {
  const never = NEVER_DUE_SETS.has(set);
  // With the counts, a few entries (the soonest): their size sizes the first ZSCAN page.
  const [total, dueNow, dueWithinHour, last, probe] = await Promise.all([
    redis.zcard(key),
    never ? 0 : redis.zcount(key, '-inf', String(now)),
    never ? 0 : redis.zcount(key, '-inf', String(now + 3600)),
    never ? [] : redis.zrange(key, -1, '-1', 'WITHSCORES'),
    probeJobs(redis, key, 'zset'),
  ]);
  let read = 0;
  let orphaned = 0;
  let unparsable = 0;
  let toRetired = 0;
  let cursor = '0';
  // The entries' size, from the probe first, then from each page: COUNT fits MAX_PAGE_BYTES.
  let bytesPerJob = meanBytes(probe, undefined);
  // Every entry, in bounded pages. ZSCAN may return an entry twice (while the set is rehashed):
  // that can only overstate what is left, never hide it.
  do {
    const [next, flat] = await redis.zscanBuffer(key, cursor, 'COUNT', jobsWithinBytes(bytesPerJob, MAX_ENTRIES_PER_SCAN_CALL));
    cursor = next.toString();
    const members: Buffer[] = [];
    for (let i = 0; i < flat.length; i += 2) members.push(flat[i]!);
    bytesPerJob = meanBytes(members, bytesPerJob);
    for (const member of members) {
      const job = inspectJob(member);
      // A job without a queue field goes to "default" when due; an unparsable one goes nowhere.
      const queue = job.kind === 'job' ? (job.queue ?? 'default') : null;
      if (queue === null || !listened(queue)) orphaned++;
      else if (onlySilent?.heard(queue)) onlySilent.entries.set(queue, (onlySilent.entries.get(queue) ?? 0) + 1);
      if (queue === null) unparsable++;
      if (queue !== null && retired.has(queue)) toRetired++;
      read++;
    }
  } while (cursor !== '0' && read < limits.countLimit && limits.clock() < limits.until);
  const estimated = cursor !== '0';
  const extrapolate = (n: number) => (estimated && read > 0 ? Math.max(n, Math.round((n / read) * total)) : n);
  return {
    total,
    dueNow,
    dueWithinHour,
    lastDueAt: last.length === 2 ? Number(last[1]) : null,
    orphaned: extrapolate(orphaned),
    // Only when there are some: reports without them keep their shape.
    ...(unparsable > 0 ? { unparsable: extrapolate(unparsable) } : {}),
    toRetiredQueues: extrapolate(toRetired),
    orphanedEstimated: estimated,
    ...(estimated && read < limits.countLimit ? { readBeforeTimeRanOut: read } : {}),
  };
}

/**
 * Other prefixes holding jobs, each with its live processes (a census under that prefix, one
 * round trip or two): jobs there run only if a Sidekiq runs against that prefix. No live process
 * there makes them jobs nobody will run as things stand (judge-drain.ts, the exit code 3).
 */
async function withLiveProcesses(redis: Redis, others: readonly OtherPrefix[], now: number, staleAfterSeconds?: number): Promise<OtherPrefix[]> {
  const out: OtherPrefix[] = [];
  for (const other of others) {
    if (other.jobs === 0) {
      out.push(other);
      continue;
    }
    const census = await censusProcesses(redis, new SidekiqKeys(other.prefix), now, staleAfterSeconds);
    const live = census.processes.filter((p) => p.live && !p.quiet);
    const silentProcesses = live.filter((p) => p.silentSeconds !== undefined).length;
    out.push({ ...other, liveProcesses: live.length, ...(silentProcesses > 0 ? { silentProcesses } : {}) });
  }
  return out;
}

/** The sets whose entries come due onto their queue by themselves (as orphans.scheduled counts them). */
const SILENT_HEARD_SETS: ReadonlySet<SortedSetName> = new Set(['schedule', 'retry']);

/**
 * DrainReport.setEntriesHeardOnlyBySilent: the schedule and retry entries (`entries`, queue → how
 * many, as read) naming queues only live processes not heard from for several beats listen to.
 * A set read in part (orphanedEstimated) gives a floor: the count is of entries read.
 */
function entriesOnlySilentListenFor(entries: ReadonlyMap<string, number>, sets: Readonly<Record<SortedSetName, SetState>>, census: ProcessCensus): DrainReport['setEntriesHeardOnlyBySilent'] {
  if (entries.size === 0) return undefined;
  const found = [...entries].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const names = new Set(entries.keys());
  const silences = census.processes.filter((p) => p.live && !p.quiet && p.silentSeconds !== undefined && p.queues.some((q) => names.has(q))).map((p) => p.silentSeconds!);
  return {
    entries: found.reduce((n, [, k]) => n + k, 0),
    ...(sets.schedule.orphanedEstimated || sets.retry.orphanedEstimated ? { atLeast: true as const } : {}),
    total: found.length,
    queues: found.slice(0, 10).map(([queue, k]) => ({ queue, entries: k })),
    silentSeconds: Math.min(...silences),
  };
}

/**
 * DrainReport.heardOnlyBySilent: the queues holding jobs that only live processes not heard from
 * for several beats listen to (a queue nobody listens to is an orphan's, not this).
 */
function onlySilentListen(queues: readonly QueueState[], census: ProcessCensus): DrainReport['heardOnlyBySilent'] {
  const found = queues.filter((q) => q.depth > 0 && q.listeners > 0 && (census.beatingListeners.get(q.queue) ?? 0) === 0).sort((a, b) => b.depth - a.depth || (a.queue < b.queue ? -1 : 1));
  if (found.length === 0) return undefined;
  const names = new Set(found.map((q) => q.queue));
  const silences = census.processes.filter((p) => p.live && !p.quiet && p.silentSeconds !== undefined && p.queues.some((q) => names.has(q))).map((p) => p.silentSeconds!);
  return {
    jobs: found.reduce((n, q) => n + q.depth, 0),
    total: found.length,
    queues: found.slice(0, 10).map((q) => ({ queue: q.queue, depth: q.depth })),
    silentSeconds: Math.min(...silences),
  };
}
