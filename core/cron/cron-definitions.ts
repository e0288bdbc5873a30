import type { Redis } from 'ioredis';
import { inspectJob } from '../payload/inspect-job.js';
import { keyspaceCut, scanBounded, type KeyspaceCut, type ScanBound, type ScanExtent } from '../redis/bounded-scan.js';
import { classifyRedisError } from '../redis/redis-errors.js';
import { escapeGlob } from '../reroute/discover-queues.js';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';
import type { PageLook } from '../redis/shared-walk.js';

/**
 * A sidekiq-cron job definition: a hash that the cron poller reads every minute to push a job.
 * Its `message` (a JSON object as a string: `class`, `queue`, `retry`, `args`…) carries the queue
 * it pushes to, so after a routing change cron keeps pushing to the old queue until the
 * definitions are saved again (GitLab and most apps do that when Sidekiq boots), and after a move
 * to another Redis, definitions created at run time exist only on the old one.
 *
 * Layouts (sidekiq-cron `lib/sidekiq/cron/job.rb`):
 * - 1.x: set `cron_jobs` of hash keys `cron_job:NAME`;
 * - 2.x: one set `cron_jobs:NAMESPACE` per namespace (`default` unless configured) of hash keys
 *   `cron_job:NAMESPACE:NAME`. Both may coexist after an upgrade.
 * The set members are key names without the Redis prefix (redis-namespace adds it). A hash with no
 * `message` is a definition too: sidekiq-cron builds its message from `klass` (or `class`) and pushes
 * to its `queue` field (`job.rb` initialize, `elsif @klass`, 1.x and 2.x alike).
 */
/**
 * The fields sidekiq-cron's queue_name_with_prefix reads (job.rb), bytes as read (null: absent).
 * A `queue` field rewrite relies on them as read (the prefix it strips, or that there is none).
 */
export interface PrefixFields {
  readonly activeJob: Buffer | null;
  readonly prefix: Buffer | null;
  readonly delimiter: Buffer | null;
}

export interface CronDefinition {
  /** The hash's key, prefix included. */
  readonly key: string;
  readonly name: string;
  /** The 2.x namespace (of the set `cron_jobs:NAMESPACE` naming it), or null for a 1.x definition (named by `cron_jobs`). */
  readonly namespace: string | null;
  /** The other sets naming it (`cron_jobs`: null, `cron_jobs:NS`: NS), when more than one does: `move --cron` adds it to each. */
  readonly alsoIn?: readonly (string | null)[];
  /** `class` of the message (`klass`, else `class`, without one), or null when the message cannot be read. */
  readonly className: string | null;
  /**
   * Where it pushes: the message's `queue` (sidekiq-cron's own default is "default"), or without a
   * message its `queue` field; for an ActiveJob definition with a `queue_name_prefix`, that queue
   * behind `queuePrefix`.
   */
  readonly queue: string | null;
  /**
   * An ActiveJob definition (`active_job` true) saved with a `queue_name_prefix`: sidekiq-cron pushes
   * to "<prefix><delimiter><queue>" (job.rb queue_name_with_prefix: `queue_name_delimiter`, else
   * "_"), its message naming the bare queue. This is "<prefix><delimiter>" (absent: no prefix).
   */
  readonly queuePrefix?: string;
  /** `status` is "enabled" (sidekiq-cron pushes nothing for "disabled"). */
  readonly enabled: boolean;
  /**
   * The ActiveJob prefix fields as read (null: absent), which decide `queuePrefix`: a message
   * rewrite relies on them (the prefix it strips from the destination, or that there is none) and
   * writes only while they are still as read (rewriteCronMessage-4.lua).
   */
  readonly prefixFields: PrefixFields;
  /** The message's exact bytes, or null: the hash has no `message` (sidekiq-cron builds one from `klass` and `queue`). */
  readonly message: Buffer | null;
  /**
   * Without a message, the fields sidekiq-cron builds it from, bytes as read (null: absent), when
   * it has a class and a `queue` field, and the prefix fields: judged by them (the `queue` field
   * behind `queuePrefix`), its `queue` field rewritten only while they are all still as read
   * (rewriteCronQueueField-1.lua).
   */
  readonly built?: { readonly klass: Buffer | null; readonly class: Buffer | null; readonly queue: Buffer } & PrefixFields;
  /** Why the message could not be read, or what is missing without one (then it is neither routed nor rewritten). */
  readonly problem: string | null;
}

/**
 * More definitions than any installation has (GitLab defines about a hundred): a bound on what one
 * plan step reads and carries (a carry is one HGETALL and one Lua call per definition, in sequence,
 * within the plan Lambda's time: 50,000 took 12.6 s at low load, bench/README audit-croncap), and
 * on what drain-check's report lists (every definition read, about 180 bytes each). That list is
 * what binds: `drain-check --deployed` gets the report as a synchronous Lambda response (at most
 * 6 MB) from a 512 MB function, and 50,000 made an 8.9 MB report and a 437 MB process
 * (bench/README audit-cronrerun). Lift it only once the report lists a bounded number. Never
 * silent: a read says how many it left unread (`unread`), and every user of it says so.
 */
export const MAX_CRON_DEFINITIONS = 10_000;

export async function readCronDefinitions(redis: Redis, keys: SidekiqKeys): Promise<CronDefinition[]> {
  return (await readCronDefinitionsWithin(redis, keys, {})).definitions;
}

export interface CronLook {
  readonly definitions: CronDefinition[];
  /** Definitions the sets name beyond MAX_CRON_DEFINITIONS: not read (absent when none). */
  readonly unread?: number;
  /** The SCAN for 2.x namespaces stopped at the bound's time: definitions of namespaces other than `default` may be missing. */
  readonly cutShort?: KeyspaceCut;
}

/**
 * readCronDefinitions, its SCAN for 2.x namespaces (`cron_jobs:*`) bounded by `bound` (its first
 * page whatever the time): on a Redis with tens of millions of other keys it takes tens of
 * seconds. `cron_jobs` (1.x) and `cron_jobs:default` (2.x's namespace unless configured) are read
 * whatever the time; cut short, it says how far the SCAN got.
 */
export async function readCronDefinitionsWithin(redis: Redis, keys: SidekiqKeys, bound: ScanBound): Promise<CronLook> {
  let namespaces: { found: string[]; cutShort?: KeyspaceCut };
  try {
    namespaces = await namespaceIndexes(redis, keys, bound);
  } catch (error) {
    throw classifyRedisError(error, `Reading sidekiq-cron definitions under ${keys.prefix || '(no prefix)'}`);
  }
  const read = await readCronDefinitionsOf(redis, keys, namespaces.found);
  return namespaces.cutShort ? { ...read, cutShort: namespaces.cutShort } : read;
}

/**
 * readCronDefinitionsWithin after a walk that fed cronNamespacesLook `look` (shared-walk.ts), the
 * walk's extent for it: cut short by its time, said as there.
 */
export async function cronDefinitionsAfterWalk(redis: Redis, keys: SidekiqKeys, look: { found(): string[] }, extent: ScanExtent): Promise<CronLook> {
  let cutShort: KeyspaceCut | undefined;
  try {
    cutShort = extent.cutShort === 'time' ? await keyspaceCut(redis, extent.pages) : undefined;
  } catch (error) {
    throw classifyRedisError(error, `Reading sidekiq-cron definitions under ${keys.prefix || '(no prefix)'}`);
  }
  const read = await readCronDefinitionsOf(redis, keys, look.found());
  return cutShort ? { ...read, cutShort } : read;
}

/** The 2.x namespace sets (`cron_jobs:*`) as a look a shared walk feeds (shared-walk.ts): enough at 1,000 found. */
export function cronNamespacesLook(keys: SidekiqKeys): PageLook & { found(): string[] } {
  const found = new Set<string>();
  return {
    heads: [`${keys.prefix}cron_jobs:`],
    onPage: (page) => {
      page.forEach((key) => found.add(key.toString()));
      return found.size >= 1000;
    },
    found: () => [...found].sort(),
  };
}

/** The definitions named by `cron_jobs`, `cron_jobs:default` and the 2.x namespace sets `namespaces` (keys, prefix included). */
export async function readCronDefinitionsOf(redis: Redis, keys: SidekiqKeys, namespaces: readonly string[]): Promise<{ definitions: CronDefinition[]; unread?: number }> {
  try {
    const indexes = [...new Set([`${keys.prefix}cron_jobs`, `${keys.prefix}cron_jobs:default`, ...namespaces])];
    // Each member's namespace is the set it is found in (sidekiq-cron reads a namespace by its set), not a guess from its key.
    // A member of several sets keeps them all (the first is its namespace): `move --cron` adds it to each.
    const members = new Map<string, (string | null)[]>();
    // Members beyond the bound: counted, never read (each user of the read says how many).
    const beyond = new Set<string>();
    for (const index of indexes) {
      if ((await redis.type(index)) !== 'set') continue;
      const namespace = index === `${keys.prefix}cron_jobs` ? null : index.slice(`${keys.prefix}cron_jobs:`.length);
      for (const member of await redis.smembers(index)) {
        const sets = members.get(member);
        if (sets) sets.push(namespace);
        else if (members.size < MAX_CRON_DEFINITIONS) members.set(member, [namespace]);
        else beyond.add(member);
      }
    }
    const unread = beyond.size > 0 ? { unread: beyond.size } : {};
    const names = [...members.keys()].sort();
    if (names.length === 0) return { definitions: [], ...unread };
    const pipeline = redis.pipeline();
    for (const member of names) pipeline.hmgetBuffer(`${keys.prefix}${member}`, 'name', 'message', 'status', 'klass', 'queue', 'class', 'active_job', 'queue_name_prefix', 'queue_name_delimiter').exists(`${keys.prefix}${member}`);
    const replies = (await pipeline.exec()) ?? [];
    const definitions: CronDefinition[] = [];
    names.forEach((member, i) => {
      const [error, fields] = replies[2 * i] ?? [null, null];
      const [, exists] = replies[2 * i + 1] ?? [null, 0];
      // A member whose hash is gone or of another type is not a definition cron would run.
      if (error || !Array.isArray(fields) || exists === 0) return;
      const [name = null, message = null, status = null, klass = null, queue = null, classField = null, activeJob = null, prefix = null, delimiter = null] = fields as (Buffer | null)[];
      const [namespace = null, ...alsoIn] = members.get(member) ?? [];
      const prefixFields = { activeJob, prefix, delimiter };
      const definition = withQueuePrefix(describe(`${keys.prefix}${member}`, member, namespace, name, message, status, { klass, class: classField, queue }, prefixFields), prefixFields);
      definitions.push(alsoIn.length > 0 ? { ...definition, alsoIn } : definition);
    });
    return { definitions, ...unread };
  } catch (error) {
    throw classifyRedisError(error, `Reading sidekiq-cron definitions under ${keys.prefix || '(no prefix)'}`);
  }
}

/** The 2.x per-namespace sets, `cron_jobs:*` (a handful of keys, but a SCAN visits every key: bounded by time, and at 1,000 found). */
async function namespaceIndexes(redis: Redis, keys: SidekiqKeys, bound: ScanBound): Promise<{ found: string[]; cutShort?: KeyspaceCut }> {
  const look = cronNamespacesLook(keys);
  const extent = await scanBounded(redis, `${escapeGlob(keys.prefix)}cron_jobs:*`, bound, look.onPage as (page: Buffer[]) => boolean);
  return extent.cutShort === 'time' ? { found: look.found(), cutShort: await keyspaceCut(redis, extent.pages) } : { found: look.found() };
}

function describe(
  key: string,
  member: string,
  namespace: string | null,
  name: Buffer | null,
  message: Buffer | null,
  status: Buffer | null,
  fields: { klass: Buffer | null; class: Buffer | null; queue: Buffer | null },
  prefixFields: PrefixFields,
): CronDefinition {
  // "cron_job:NAME" (1.x) or "cron_job:NAMESPACE:NAME" (2.x); the hash's own `name` field wins.
  const rest = member.startsWith('cron_job:') ? member.slice('cron_job:'.length) : member;
  const common = { key, name: name?.toString() ?? rest, namespace, enabled: status === null || status.toString() === 'enabled', prefixFields };
  if (message === null) {
    // job.rb (1.x, 2.x): `@klass = args["klass"] || args["class"]`, then without a message `if args['queue']` it
    // pushes there, else to the queue of the class's own sidekiq_options (not known here). An empty value is
    // one (Ruby's "" is true). Without a class it builds no message and pushes nothing.
    const klass = fields.klass ?? fields.class;
    const queue = fields.queue?.toString() ?? null;
    if (klass !== null && fields.queue !== null) return { ...common, message, className: klass.toString(), queue, built: { klass: fields.klass, class: fields.class, queue: fields.queue, ...prefixFields }, problem: null };
    const problem =
      klass === null ? 'no message field and no klass or class field (sidekiq-cron has no class to push)' : "no message field and no queue field (sidekiq-cron pushes to the queue its class's sidekiq_options name, not known here)";
    return { ...common, message, className: klass?.toString() ?? null, queue, problem };
  }
  const job = inspectJob(message);
  if (job.kind === 'unparsable') return { ...common, message, className: null, queue: null, problem: job.reason };
  return { ...common, message, className: job.className, queue: job.queue ?? 'default', problem: null };
}

/**
 * sidekiq-cron's queue_name_with_prefix (job.rb): an `active_job` definition ("true", "t", "yes",
 * "y", "1", any case) with a non-empty `queue_name_prefix` pushes to "<prefix><delimiter><queue>",
 * the delimiter its `queue_name_delimiter` when not empty, else "_" (ActiveJob's default). Not
 * known here: a prefix taken from the app's own Rails config when the field is empty.
 */
function withQueuePrefix(definition: CronDefinition, { activeJob, prefix, delimiter }: PrefixFields): CronDefinition {
  if (activeJob === null || !/^(true|t|yes|y|1)$/i.test(activeJob.toString()) || prefix === null || prefix.length === 0) return definition;
  const queuePrefix = `${prefix.toString()}${delimiter !== null && delimiter.length > 0 ? delimiter.toString() : '_'}`;
  return { ...definition, queuePrefix, queue: definition.queue === null ? null : `${queuePrefix}${definition.queue}` };
}
