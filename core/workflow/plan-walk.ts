import { cronNamespacesLook } from '../cron/cron-definitions.js';
import { leftoversLook } from '../drain/leftover-keys.js';
import { PlanWalkTooLongError } from '../errors/plan-walk-too-long-error.js';
import { keyspaceCut, type ScanBound } from '../redis/bounded-scan.js';
import { walkForLooks, type PageLook } from '../redis/shared-walk.js';
import { hasSidekiqOwnKeys, judgeSidekiqPrefix, sidekiqDataLooks, type PrefixCheck } from '../redis/sidekiq-prefixes.js';
import { queueDiscoveryLook, type SkippedKey } from '../reroute/discover-queues.js';
import type { InflightLeftover } from '../transfer/resume-inflight.js';
import type { Connection } from './connections.js';
import { movesRecordsLook } from './moved-on-since.js';
import { iterableStatesLook, type IterableStates } from '../transfer/iterable-states.js';
import { olderStartsLook, type OlderStarts } from './older-starts.js';
import { otherRunsPassesLook, type OtherRunsPasses } from '../transfer/other-runs-passes.js';

/** What a plan looks for in the source's keyspace besides Sidekiq data under its prefix. */
export interface PlanWalkWants {
  /** Every queue list (a run that drains queues). */
  readonly queues: boolean;
  /** Every run's in-flight keys (a transfer resumes them). */
  readonly leftovers: boolean;
  /** Every run's record of moves (a rollback: moved-on-since.ts). */
  readonly moveRecords: boolean;
  /** Sidekiq 7.3+ iterable jobs' states, `it-<jid>` (a transfer does not carry them: iterable-states.ts). */
  readonly iterableStates?: boolean;
  /** The run's keys earlier starts left (older-starts.ts): a run that writes (not a dry run). */
  readonly olderStartsOf?: string;
  /** Other runs' pass counts than this run's (other-runs-passes.ts): a transfer that writes. */
  readonly otherRunsPassesBesides?: string;
}

/** What the plan's one walk found. */
export interface PlanWalk {
  /** Whether Sidekiq data is under the prefix (checkSidekiqPrefix's answer; a wrong prefix was refused). */
  readonly hasData: boolean | 'unknown';
  readonly queues?: { readonly queues: string[]; readonly skipped: SkippedKey[] };
  readonly leftovers?: InflightLeftover[];
  /** sidekiq-cron 2.x namespace sets (`cron_jobs:*`): readCronDefinitionsOf reads their definitions. */
  readonly cronNamespaces: string[];
  readonly moveRecordRunIds?: string[];
  /** The `it-<jid>` keys seen (undefined: none, or not looked for). */
  readonly iterableStates?: IterableStates;
  /** What earlier starts of the run left (looked for only with `olderStartsOf`). */
  readonly olderStarts?: OlderStarts;
  /** Other runs' pass counts (looked for only with `otherRunsPassesBesides`). */
  readonly otherRunsPasses?: OtherRunsPasses;
}

/**
 * The plan's looks over the source's keyspace, from ONE walk (shared-walk.ts): each SCAN visits
 * every key of the database, and on GitLab's Redis (tens of millions of duplicate-job digests and
 * caches, about a second a million keys at loopback) the plan's five walks — queue lists, in-flight
 * keys, cron's namespaces, a dry run's list again, and Sidekiq data under the prefix — outlasted
 * its function's timeout ("Task timed out"). Queue lists, in-flight keys and cron definitions must
 * be found whole (one missed leaves its jobs behind, silently): when the walk does not reach the
 * end by `bound`, the plan stops here, before any lock or write, with PlanWalkTooLongError. The
 * look for Sidekiq data (only when none of Sidekiq's own keys is there) keeps its own time
 * (`lookUntil`, checkSidekiqPrefix's): a wrong prefix is refused first, in its words.
 */
export async function walkPlanKeyspace(source: Connection, wants: PlanWalkWants, check: PrefixCheck, bound: ScanBound, lookUntil?: number): Promise<PlanWalk> {
  const { redis, keys } = source;
  const clock = bound.clock ?? Date.now;
  const started = clock();
  const data = (await hasSidekiqOwnKeys(redis, keys)) ? undefined : sidekiqDataLooks(redis, keys, lookUntil);
  const queues = wants.queues ? queueDiscoveryLook(redis, keys) : undefined;
  const leftovers = wants.leftovers ? leftoversLook(redis, keys, { quarantine: false, inflight: true }) : undefined;
  const cron = cronNamespacesLook(keys);
  const records = wants.moveRecords ? movesRecordsLook(keys.prefix) : undefined;
  // Whole, as the walk is: a pass record it did not reach would stay for good (older-starts.ts).
  const older = wants.olderStartsOf !== undefined ? olderStartsLook(keys.prefix, wants.olderStartsOf) : undefined;
  // Whole too: a count of a dead run it did not reach would stay for good (other-runs-passes.ts).
  const others = wants.otherRunsPassesBesides !== undefined ? otherRunsPassesLook(keys.prefix, wants.otherRunsPassesBesides) : undefined;
  // Not needed whole (a notice): before the looks that are, so that the cut below reads theirs.
  const iterable = wants.iterableStates ? iterableStatesLook(keys) : undefined;
  const whole: PageLook[] = [queues, leftovers, cron, records, older, others].filter((l) => l !== undefined);
  const looks = [...(data?.looks ?? []), ...(iterable ? [iterable] : []), ...whole];
  const extents = await walkForLooks(redis, looks, bound, `Looking over the keys of ${check.name} (SCAN)`);
  const judged = await judgeSidekiqPrefix(redis, keys, check, data ? await data.result(extents) : { found: true });
  const cut = extents.slice(looks.length - whole.length).find((e) => e.cutShort === 'time');
  if (cut) {
    const lookedFor = [...(queues ? ['every queue list'] : []), ...(leftovers ? ['the jobs interrupted transfers left in flight'] : []), 'the sidekiq-cron definitions'];
    throw new PlanWalkTooLongError(check.name, lookedFor, await keyspaceCut(redis, cut.pages), (clock() - started) / 1000);
  }
  const leftoverLook = leftovers ? await leftovers.result(extents[looks.indexOf(leftovers)]!) : undefined;
  const states = iterable?.found();
  return {
    hasData: judged.hasData,
    ...(queues ? { queues: queues.result() } : {}),
    ...(leftoverLook ? { leftovers: leftoverLook.inflight } : {}),
    cronNamespaces: cron.found(),
    ...(records ? { moveRecordRunIds: records.runIds() } : {}),
    ...(states ? { iterableStates: states } : {}),
    ...(older ? { olderStarts: older.found() } : {}),
    ...(others ? { otherRunsPasses: others.found() } : {}),
  };
}
