import type { Redis } from 'ioredis';
import { InputError } from '../errors/input-error.js';
import { classifyRedisError } from './redis-errors.js';

/** One command as a run sends it, with arguments of the right shape (arity is checked first). */
export type CommandProbe = readonly [string, ...string[]];

/** What a connection is used for, which decides the commands it must be allowed. */
export type ConnectionUse = 'migrate-source' | 'migrate-target' | 'read';

/**
 * Every command a run sends on a connection of that use, with keys under its prefix (ACL key
 * patterns such as `~resque:gitlab:*` are checked too): the commands sent directly and those its
 * Lua steps call (`core/redis/lua/`), since a user allowed EVALSHA but not, say, LREM fails
 * inside the script, half-way through a run. Keep in step with the scripts. `replicas`: the server
 * has some, so a transfer sends it WAIT (replica-wait.ts); never sent to one without.
 */
export function commandsFor(use: ConnectionUse, prefix: string, options: { readonly replicas?: boolean } = {}): { reads: CommandProbe[]; writes: CommandProbe[]; families: KeyFamily[] } {
  const families = keyFamilies(use, prefix);
  const queue = `${prefix}queue:sidekiq-migrate-permission-check`;
  const set = `${prefix}retry`;
  const ours = `${prefix}sidekiq-migrate:permission-check`;
  const reads: CommandProbe[] = [
    ['INFO', 'server'],
    ['SCAN', '0', 'MATCH', `${prefix}queue:*`, 'COUNT', '1'],
    ['TYPE', queue],
    ['EXISTS', queue],
    ['LLEN', queue],
    ['LRANGE', queue, '0', '0'],
    ['LINDEX', queue, '-1'],
    ['ZCARD', set],
    ['ZCOUNT', set, '0', '1'],
    ['ZRANGE', set, '0', '0'],
    ['ZSCAN', set, '0'],
    ['SMEMBERS', `${prefix}processes`],
    ['HMGET', `${prefix}permission-check`, 'info'],
    // How long a heartbeat has to live: the drain check's second clock for a process gone silent
    // (core/drain/live-processes.ts); a run's own keys' expiry too (PERSIST below).
    ['PTTL', `${prefix}permission-check`],
    // sidekiq-cron definitions (core/cron/): read by run, move and drain-check.
    ['HGETALL', `${prefix}cron_job:permission-check`],
    ['GET', ours],
  ];
  if (use === 'read') return { reads, writes: [], families };
  const writes: CommandProbe[] = [
    ['EVALSHA', '0000000000000000000000000000000000000000', '1', ours],
    ['SCRIPT', 'LOAD', 'return 1'],
    ['MULTI'],
    ['SET', ours, 'x'],
    ['DEL', ours],
    // A re-route's record of rewrites, removed at the end of its set's scan (set-page.ts).
    ['UNLINK', ours],
    ['EXPIRE', ours, '1'],
    ['PERSIST', ours],
    ['TIME'],
    ['SADD', ours, 'x'],
    ['SISMEMBER', ours, 'x'],
    ['SMISMEMBER', ours, 'x'],
    // Cron definitions: rewritten on the source (--rewrite-cron), copied to the target (--cron).
    // HGET, SISMEMBER and SMISMEMBER also read a ledger on the target, under the prefix: a slice's
    // copy still recorded there before the source acknowledges it (core/transfer/copy-kept.ts).
    // SMISMEMBER also reads, on the source, the conflicts a class-selective set pass gave back
    // (core/transfer/selected-left-count.ts).
    ['HGET', `${prefix}cron_job:permission-check`, 'message'],
    ['HSET', `${prefix}cron_job:permission-check`, 'message', 'x'],
    // A transfer's queue ledgers (a hash: batch → jobs written, copyJobsToLists-n4.lua) and their
    // retirement's look at a ledger of either kind (retireLedger-4.lua); SCARD also sizes the
    // conflicts given back to a set (set-transfer.ts, the source).
    ['HLEN', ours],
    ['HRANDFIELD', ours],
    ['HEXISTS', ours, 'x'],
    ['SCARD', ours],
    ['SRANDMEMBER', ours],
    // The target's index of ledgers (core/transfer/ledger-index.ts): a retire takes a ledger's name
    // out (retireLedger-4.lua); the copies add it (SADD above); a summary reads it (SMEMBERS).
    // The same three on a source's index of in-flight keys (core/transfer/inflight-index.ts): the
    // claims add (SADD), the acknowledges and forgetGoneInflightKeys-1.lua take out (SREM), a summary reads it.
    ['SREM', ours, 'x'],
    ['RPUSH', queue, 'x'],
    ['LPUSH', queue, 'x'],
    ['ZADD', set, '0', 'x'],
    ['ZSCORE', set, 'x'],
    // The set copy's look-up of the members already on the target (copyEntriesToSet-6.lua), and a
    // re-route's of its entries' scores as they are when it moves them (rerouteSetEntries-n6.lua).
    ['ZMSCORE', set, 'x'],
  ];
  // A transfer waits for the replicas of each side before the next step (replica-wait.ts).
  if (options.replicas === true) writes.push(['WAIT', '0', '0']);
  if (use === 'migrate-target') return { reads, writes, families };
  const sourceOnly: CommandProbe[] = [
    ['LREM', queue, '1', 'x'],
    ['LPOP', queue],
    ['RPOP', queue],
    ['LTRIM', queue, '0', '-1'],
    // A transfer's claim marks the jobs below newer arrivals in place (claimQueueJobs-14.lua).
    ['LSET', queue, '0', 'x'],
    // An append pass's claim looks for its mark, the newest original, from the tail (claimQueueJobs-14.lua).
    ['LPOS', queue, 'x'],
    ['ZREM', set, 'x'],
    // The batch ids of jobs in flight, read together before a transfer resumes them.
    ['MGET', ours],
    // The run's executions, one ended at the end of every run (endRunExecution-3.lua; HLEN above).
    ['HDEL', ours, 'x'],
  ];
  return { reads, writes: [...writes, ...sourceOnly], families };
}

/**
 * A key family a run reads or writes, named as an ACL key pattern would name it (`queues`,
 * `queue:*`), with one key of it that holds nothing of ours: `write` when the run writes it.
 * `whenExists`: written only when the key exists (GitLab's `interrupted`, listed then only).
 */
export interface KeyFamily {
  readonly name: string;
  readonly key: string;
  readonly write: boolean;
  readonly whenExists?: boolean;
}

/**
 * Every key family a connection of that use reads or writes. The commands above are probed on
 * one key of a few families; an ACL key pattern can leave out any other (Redis 7's read-only
 * `%R~dead`, or a list of patterns without `~queues`). Each Lua step declares its keys, so Redis
 * refuses such a step whole, but the run had gone on with the other families and stopped half-way
 * (test/workflow/cli-acl-key-families.test.ts). Keep in step with the keys the steps take.
 */
export function keyFamilies(use: ConnectionUse, prefix: string): KeyFamily[] {
  const writes = use !== 'read';
  return [
    { name: `${prefix}queue:*`, key: `${prefix}queue:sidekiq-migrate-permission-check`, write: writes },
    { name: `${prefix}queues`, key: `${prefix}queues`, write: writes },
    { name: `${prefix}schedule`, key: `${prefix}schedule`, write: writes },
    { name: `${prefix}retry`, key: `${prefix}retry`, write: writes },
    { name: `${prefix}dead`, key: `${prefix}dead`, write: writes },
    // Listed (so read, moved, written on the target) only where it exists (work-list.ts).
    { name: `${prefix}interrupted`, key: `${prefix}interrupted`, write: writes, whenExists: true },
    { name: `${prefix}sidekiq-migrate:*`, key: `${prefix}sidekiq-migrate:permission-check`, write: writes },
    // sidekiq-cron: definitions rewritten on the source (--rewrite-cron), copied to the target with
    // their index (--cron); read by every run and drain check.
    { name: `${prefix}cron_job:*`, key: `${prefix}cron_job:permission-check`, write: writes },
    { name: `${prefix}cron_jobs`, key: `${prefix}cron_jobs`, write: use === 'migrate-target' },
    { name: `${prefix}cron_jobs:*`, key: `${prefix}cron_jobs:default`, write: use === 'migrate-target' },
    { name: `${prefix}processes`, key: `${prefix}processes`, write: false },
  ];
}

/**
 * The commands of `probes` the connection's user may not run (as `COMMAND` names), found without
 * changing anything: `ACL DRYRUN <user> …` where the server has it (Redis ≥ 7) and lets this user
 * ask; else the reads are simply sent (on keys of ours that do not exist), and the writes queued
 * inside MULTI and thrown away with DISCARD — Redis checks ACL permissions (and whether a command
 * exists: a renamed or disabled one) when it queues a command, and runs nothing of a discarded
 * transaction. A user that may not even send MULTI is told so, with EVALSHA and SCRIPT LOAD
 * probed directly (an unknown script id, a script that returns 1). Call it on a connection
 * nothing else uses at the time.
 */
export async function missingCommands(redis: Redis, username: string, probes: { readonly reads: readonly CommandProbe[]; readonly writes: readonly CommandProbe[] }): Promise<string[]> {
  return (await denials(redis, username, probes)).map((d) => d.name);
}

/** A probe refused: `key` when the command is allowed but not on the key (an ACL key pattern). */
interface Denial {
  readonly name: string;
  readonly key: boolean;
}

/** A key family the user may not read, or may read but not write. */
interface FamilyDenial {
  readonly family: string;
  readonly access: 'read' | 'write';
}

/**
 * The key families of `families` the user may not read or write, found without changing
 * anything and without any permission beyond the run's own commands: a read is `EXISTS key`; a
 * write is `EVALSHA <unknown id> 1 key`, which Redis checks against the key patterns before it
 * looks for the script (Redis 7 requires read and write on a script's declared keys, as for
 * every step we send) and then answers NOSCRIPT. A refusal of the command itself (no EXISTS or
 * EVALSHA) is not counted here: the command probes name it.
 */
async function familyDenials(redis: Redis, families: readonly KeyFamily[]): Promise<FamilyDenial[]> {
  const read = async (family: KeyFamily): Promise<'denied' | 'unknown' | boolean> => {
    try {
      return Number(await redis.call('EXISTS', family.key)) > 0;
    } catch (error) {
      const message = String((error as Error).message);
      if (/NOPERM.*\bkeys?\b/i.test(message)) return 'denied';
      if (/NOPERM|unknown command/i.test(message)) return 'unknown';
      throw error;
    }
  };
  try {
    // Two round trips, each one pipeline: the reads, then the writes of the families read.
    const reads = await Promise.all(families.map(read));
    const writable = families.filter((f, i) => f.write && typeof reads[i] === 'boolean' && (f.whenExists !== true || reads[i] === true));
    const writes = await Promise.all(writable.map((f) => refused(redis.call('EVALSHA', '0000000000000000000000000000000000000000', '1', f.key))));
    return [
      ...families.filter((_, i) => reads[i] === 'denied').map((f): FamilyDenial => ({ family: f.name, access: 'read' })),
      ...writable.filter((_, i) => writes[i] === 'key').map((f): FamilyDenial => ({ family: f.name, access: 'write' })),
    ];
  } catch (error) {
    throw classifyRedisError(error, 'Checking the permissions of the connection');
  }
}

async function denials(redis: Redis, username: string, probes: { readonly reads: readonly CommandProbe[]; readonly writes: readonly CommandProbe[] }): Promise<Denial[]> {
  try {
    const viaDryRun = await dryRunDenials(redis, username, [...probes.reads, ...probes.writes]);
    if (viaDryRun) return viaDryRun;
    const denied: Denial[] = [];
    for (const probe of probes.reads) {
      const refusal = await refused(redis.call(...(probe as [string, ...string[]])));
      if (refusal) denied.push({ name: commandName(probe), key: refusal === 'key' });
    }
    if (probes.writes.length > 0) denied.push(...(await queuedDenials(redis, probes.writes)));
    return denied;
  } catch (error) {
    throw classifyRedisError(error, 'Checking the permissions of the connection');
  }
}

/**
 * Whether a command was refused for want of permission (or because it does not exist), and
 * whether on its key only (`NOPERM … access one of the keys`); other errors do not count.
 */
async function refused(reply: Promise<unknown>): Promise<'command' | 'key' | false> {
  try {
    await reply;
    return false;
  } catch (error) {
    const message = String((error as Error).message);
    if (/NOPERM.*\bkeys?\b/i.test(message)) return 'key';
    return /NOPERM|unknown command/i.test(message) ? 'command' : false;
  }
}

/** `ACL DRYRUN` for each probe, or null when the server does not answer it (older, or ACL not ours to use). */
async function dryRunDenials(redis: Redis, username: string, probes: readonly CommandProbe[]): Promise<Denial[] | null> {
  try {
    await redis.call('ACL', 'DRYRUN', username, 'PING');
  } catch {
    return null; // Redis < 7, ACL denied to this user, or a managed service without it
  }
  // All sent at once (issue #18: one after another they were ~50 round trips of every connection's
  // start-up); each is a question about a command, which DRYRUN never runs.
  const replies = await Promise.all(
    probes.map(async (probe): Promise<Denial | null> => {
      try {
        // "This user has no permissions to run the 'lrem' command" or "… to access the 'retry' key".
        const reply = String(await redis.call('ACL', 'DRYRUN', username, ...probe));
        return reply === 'OK' ? null : { name: commandName(probe), key: /to access the '[\s\S]*' key$/.test(reply) };
      } catch (error) {
        // An unknown command (renamed or disabled) is as missing as a denied one; ACL DRYRUN says
        // so as "ERR Command 'LREM' not found".
        if (/unknown command|NOPERM|^ERR Command '.*' not found/i.test(String((error as Error).message))) return { name: commandName(probe), key: false };
        throw error;
      }
    }),
  );
  return replies.filter((d): d is Denial => d !== null);
}

async function queuedDenials(redis: Redis, probes: readonly CommandProbe[]): Promise<Denial[]> {
  if (await refused(redis.call('MULTI'))) {
    const direct = probes.filter((p) => p[0] === 'EVALSHA' || p[0] === 'SCRIPT');
    const denied: Denial[] = [];
    for (const probe of direct) {
      const refusal = await refused(redis.call(...(probe as [string, ...string[]])));
      if (refusal) denied.push({ name: commandName(probe), key: refusal === 'key' });
    }
    return [...denied, { name: 'MULTI (needed to check the other writes without running them)', key: false }];
  }
  const denied: Denial[] = [];
  try {
    for (const probe of probes) {
      const refusal = await refused(redis.call(...(probe as [string, ...string[]])));
      if (refusal) denied.push({ name: commandName(probe), key: refusal === 'key' });
    }
  } finally {
    await redis.call('DISCARD');
  }
  return denied;
}

const commandName = (probe: CommandProbe) => (probe[0] === 'SCRIPT' ? 'SCRIPT LOAD' : probe[0]);

/** The ACL rule that grants a missing command: `+lrem`, `+script|load`, `+multi` (without our note). */
const grantRule = (missing: string) => `+${missing.replace(/ \(.*\)$/, '').toLowerCase().replace(' ', '|')}`;

/**
 * Refuses, before anything is touched, a connection whose user lacks a command the run will send
 * (a read-only user passes the connection but fails on its first EVALSHA): exit 2, naming them.
 */
export async function assertCommandsAllowed(
  redis: Redis,
  username: string | undefined,
  use: ConnectionUse,
  prefix: string,
  where: string,
  options: { readonly replicas?: boolean } = {},
): Promise<void> {
  const probes = commandsFor(use, prefix, options);
  const denied = await denials(redis, username ?? 'default', probes);
  const what = use === 'read' ? 'a drain check' : use === 'migrate-target' ? 'a transfer target' : 'a migration';
  const missing = denied.filter((d) => !d.key).map((d) => d.name);
  // Commands allowed but not on our keys: an ACL key pattern that leaves out the prefix (a user
  // limited to `~resque:gitlab:*` run without its namespace, say). Granting commands would not help.
  const keyed = denied.filter((d) => d.key).map((d) => d.name);
  // The keys of the prefix allowed, but not those of a family (then granting the prefix says it all).
  const families = keyed.length > 0 ? [] : await familyDenials(redis, probes.families);
  if (denied.length === 0 && families.length === 0) return;
  const keys =
    keyed.length > 0
      ? `the user ${username ?? 'default'} may not use the keys ${what} needs ${prefix ? `under "${prefix}"` : 'with no prefix (no namespace)'} (${keyed.join(', ')} refused on them). Grant them (ACL SETUSER … ~${prefix}*)${prefix ? '' : ", or, if Sidekiq's keys are under a namespace (GitLab's resque:gitlab:), give it,"} or use another user.`
      : familyRefusal(username ?? 'default', what, families);
  if (missing.length === 0) throw new InputError(`${where}: ${keys} Nothing was touched.`);
  const alsoKeys = keys === '' ? '' : ` Also, ${keys}`;
  // No grant gives a command the server does not have (renamed or disabled, as managed services
  // do, or newer than the server): granting it would be the wrong advice.
  const absent = await commandsUnknownToServer(redis, missing);
  if (absent.names.length > 0) {
    const denied = missing.filter((m) => !absent.names.includes(m));
    const alsoDenied = denied.length === 0 ? '' : ` Also, the user ${username ?? 'default'} may not run ${denied.join(', ')} (ACL SETUSER … ${denied.map(grantRule).join(' ')}).`;
    throw new InputError(
      `${where}: the server does not have ${absent.names.join(', ')} (renamed or disabled, or newer than this Redis ${absent.version}), which ${what} needs; we need Redis 6.2 or later with these commands enabled.${alsoDenied}${alsoKeys} Nothing was touched.`,
    );
  }
  throw new InputError(
    `${where}: the user ${username ?? 'default'} may not run ${missing.join(', ')}, which ${what} needs${prefix ? ` (on keys under "${prefix}")` : ''}. Grant them (ACL SETUSER … ${missing.map(grantRule).join(' ')}) or use another user.${alsoKeys} Nothing was touched.`,
  );
}

/** The key families refused, each with the pattern that grants it (read and write: a step needs both). */
function familyRefusal(user: string, what: string, families: readonly FamilyDenial[]): string {
  if (families.length === 0) return '';
  const unread = families.filter((f) => f.access === 'read').map((f) => f.family);
  const unwritten = families.filter((f) => f.access === 'write').map((f) => f.family);
  const said = [...(unread.length > 0 ? [`read ${unread.join(', ')}, which ${what} reads`] : []), ...(unwritten.length > 0 ? [`write ${unwritten.join(', ')}, which ${what} writes`] : [])];
  return `the user ${user} may not ${said.join(', nor ')} (its step there would be refused after others had changed data). Grant them (ACL SETUSER ${user} ${families.map((f) => `~${f.family}`).join(' ')}) or use another user.`;
}

/**
 * Which of the missing commands the server does not have at all (`COMMAND INFO` answers nil for
 * them), with its version for the message. A user that may not ask is told of permissions only.
 */
async function commandsUnknownToServer(redis: Redis, missing: readonly string[]): Promise<{ names: string[]; version: string }> {
  const names = missing.filter((m) => /^[A-Z]+$/.test(m));
  try {
    const infos = (await redis.call('COMMAND', 'INFO', ...names.map((n) => n.toLowerCase()))) as unknown[];
    const version = /^redis_version:(.*)$/m.exec(await redis.info('server'))?.[1]?.trim() ?? 'of unknown version';
    return { names: names.filter((_, i) => infos[i] === null), version };
  } catch {
    return { names: [], version: '' };
  }
}
