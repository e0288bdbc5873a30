import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { heartbeat } from '../../support/sidekiq-heartbeat.js';
import { newJid, sidekiqPayload } from '../../support/sidekiq-jobs.js';

/** One seeded job: its jid, where it was put and the worker class GitLab would run. */
export interface SeededJob {
  readonly jid: string;
  readonly className: string;
  /** Full key it was seeded in (prefix included). */
  readonly key: string;
  readonly payload: string;
  readonly score?: string;
}

const NOW = Math.floor(Date.now() / 1000);

/**
 * What a GitLab instance keeps in its Sidekiq Redis, as the runbooks meet it, under `prefix`:
 * jobs of real workers (from the CE catalog) waiting on their worker-named queues (one queue per
 * worker, GitLab's routing before 16.0), scheduled, retrying and dead; an ActiveJob mail on
 * `mailers`; a cron job's queue and its sidekiq-cron definition (`cron_job:NAME`, whose `message`
 * carries the queue); a removed worker's queue; a reliable fetcher's working list (GitLab's
 * `working:queue:NAME:HOST:PID`). With `heartbeatQueues`, one live Sidekiq process (simulated
 * heartbeat, as Sidekiq 6.4 writes it) fetching those queues.
 */
export async function seedGitlabInstance(redis: Redis, prefix: string, options: { heartbeatQueues?: readonly string[]; small?: boolean } = {}): Promise<SeededJob[]> {
  const keys = new SidekiqKeys(prefix);
  const seeded: SeededJob[] = [];
  const push = async (queue: string, className: string, extra: { wrapped?: string; payload?: string } = {}) => {
    const jid = newJid();
    const payload = extra.payload ?? sidekiqPayload({ className, queue, jid, wrapped: extra.wrapped, extra: `"enqueued_at":${NOW}.25` });
    await redis.lpush(keys.queue(queue), payload);
    await redis.sadd(keys.queues, queue);
    seeded.push({ jid, className, key: `${keys.prefix}queue:${queue}`, payload });
  };
  const inSet = async (set: 'schedule' | 'retry' | 'dead', queue: string, className: string, score: string) => {
    const jid = newJid();
    const payload = sidekiqPayload({ className, queue, jid, extra: set === 'schedule' ? undefined : `"enqueued_at":${NOW}.5,"error_class":"Gitlab::Git::CommandError","failed_at":${NOW}.75,"retry_count":1` });
    await redis.zadd(keys.sortedSet(set), score, payload);
    seeded.push({ jid, className, key: keys.sortedSet(set), payload, score });
  };
  await push('post_receive', 'PostReceive');
  await push('email_receiver', 'EmailReceiverWorker');
  await inSet('schedule', 'post_receive', 'PostReceive', `${NOW + 3600}.125`);
  if (options.small) return seeded;
  await push('post_receive', 'PostReceive');
  await push('cronjob:admin_email', 'AdminEmailWorker');
  await push('removed_worker', 'RemovedWorker');
  const mailJid = newJid();
  await push('mailers', 'ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper', {
    payload: `{"retry":true,"queue":"mailers","class":"ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper","wrapped":"ActionMailer::MailDeliveryJob","args":[{"job_class":"ActionMailer::MailDeliveryJob","job_id":"0c6f1a7e-4d2b-4f7e-9c1a-7d3e5b2a9f10","provider_job_id":null,"queue_name":"mailers","priority":null,"arguments":["Notify","new_issue_email","deliver_now",{"args":[1,2],"_aj_ruby2_keywords":["args"]}],"executions":0,"exception_executions":{},"locale":"en","timezone":"UTC"}],"jid":"${mailJid}","created_at":${NOW}.1234567,"enqueued_at":${NOW}.1234571}`,
  });
  seeded[seeded.length - 1] = { ...seeded[seeded.length - 1]!, jid: mailJid };
  await inSet('schedule', 'email_receiver', 'EmailReceiverWorker', `${NOW + 7200}.5`);
  await inSet('retry', 'post_receive', 'PostReceive', `${NOW + 900}.0625`);
  await inSet('dead', 'cronjob:admin_email', 'AdminEmailWorker', `${NOW - 86_400}.25`);
  // A job a reliable fetcher holds while a worker runs it: nothing here may touch it.
  const working = sidekiqPayload({ className: 'PostReceive', queue: 'post_receive', jid: newJid() });
  await redis.lpush(`${prefix}working:queue:post_receive:gitlab-sidekiq-0:4242`, working);
  // sidekiq-cron's definition of AdminEmailWorker, written by the Sidekiq that booted last.
  await redis.sadd(`${prefix}cron_jobs`, 'admin_email_worker');
  await redis.hset(`${prefix}cron_job:admin_email_worker`, {
    name: 'admin_email_worker',
    klass: 'AdminEmailWorker',
    cron: '0 0 * * 0',
    status: 'enabled',
    message: JSON.stringify({ retry: 3, queue: 'cronjob:admin_email', class: 'AdminEmailWorker', args: [] }),
  });
  await redis.zadd(`${prefix}cron_job:admin_email_worker:enqueued`, NOW - 600, '2026-11-29 00:00:00 +0000');
  if (options.heartbeatQueues) await startSidekiq(redis, prefix, prefix ? 'gitlab-sidekiq-ns' : 'gitlab-sidekiq-plain', options.heartbeatQueues);
  return seeded;
}

/** Where each job is now, by jid, under `prefix`: full key and the payload's `queue` value. */
export async function jobPlaces(redis: Redis, prefix: string): Promise<Map<string, { key: string; payload: string; score?: string }[]>> {
  const places = new Map<string, { key: string; payload: string; score?: string }[]>();
  const add = (key: string, payload: string, score?: string) => {
    const jid = /"jid":"([0-9a-f]+)"/.exec(payload)?.[1] ?? `?${payload.slice(0, 30)}`;
    places.set(jid, [...(places.get(jid) ?? []), { key, payload, ...(score === undefined ? {} : { score }) }]);
  };
  let cursor = '0';
  do {
    const [next, page] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of page) {
      const type = await redis.type(key);
      if (type === 'list') for (const p of await redis.lrange(key, 0, -1)) add(key, p);
      if (type === 'zset' && !key.includes('cron_job:')) {
        const flat = await redis.zrange(key, 0, '-1', 'WITHSCORES');
        for (let i = 0; i < flat.length; i += 2) add(key, flat[i]!, flat[i + 1]!);
      }
    }
  } while (cursor !== '0');
  return places;
}

/** The top-level queue value of a payload (Sidekiq writes `queue` before `args`). */
export const queueField = (payload: string): string | null => /^\{[^[]*?"queue":"([^"]*)"/.exec(payload)?.[1] ?? null;

/**
 * Simulated live Sidekiq processes: each beats every second, as a real one does every 5 s (6.4),
 * so that a drain check minutes later still counts it live. Stopped by `stopSidekiq` or
 * `stopAllSidekiqs` (at the end of every runbook walk, for its servers).
 */
const live = new Map<string, { redis: Redis; prefix: string; identity: string; queues: readonly string[] }>();
let beating: NodeJS.Timeout | undefined;

async function beat(p: { redis: Redis; prefix: string; identity: string; queues: readonly string[] }): Promise<void> {
  await heartbeat(p.redis, new SidekiqKeys(p.prefix), p.identity, p.queues, { beatAt: Date.now() / 1000 });
}

/** Runbook walks run concurrently, each on its own servers: a process is named per server. */
const liveKey = (redis: Redis, name: string): string => `${redis.options.port ?? 0}/${name}`;

/** Starts (or restarts, with new queues) the simulated process `name` on `redis` under `prefix`. */
export async function startSidekiq(redis: Redis, prefix: string, name: string, queues: readonly string[]): Promise<void> {
  await stopSidekiq(redis, name);
  const process = { redis, prefix, identity: `${name}:${4000 + live.size}:0a1b2c3d4e5f`, queues };
  live.set(liveKey(redis, name), process);
  await beat(process);
  beating ??= setInterval(() => {
    for (const p of live.values()) void beat(p).catch(() => undefined);
  }, 1000);
}

/** A graceful stop: the process leaves `processes` and deletes its hash, as Sidekiq does. */
export async function stopSidekiq(redis: Redis, name: string): Promise<void> {
  const p = live.get(liveKey(redis, name));
  if (!p) return;
  live.delete(liveKey(redis, name));
  await p.redis.srem(`${p.prefix}processes`, p.identity);
  await p.redis.del(`${p.prefix}${p.identity}`);
}

/**
 * A kill (SIGKILL, OOM, a pod past its grace period): the process stops beating but, unlike a
 * graceful stop, stays a member of `processes` and keeps its heartbeat hash until the hash's 60 s
 * expire, as a real Sidekiq 6.4 leaves them. Here it was killed `secondsAgo` before: its last beat
 * is that old and its hash expires `60 - secondsAgo` s from now. `taking`: a job its GitLab reliable
 * fetcher held, in the process's working list (`working:queue:NAME:IDENTITY`), whose heartbeat key
 * (`reliable-fetcher-heartbeat-…`, TTL 60 s) expires with the hash.
 */
export async function killSidekiq(redis: Redis, name: string, options: { secondsAgo: number; taking?: { from: string; queue: string } }): Promise<string | undefined> {
  const p = live.get(liveKey(redis, name));
  if (!p) throw new Error(`no simulated Sidekiq ${name} on this server`);
  live.delete(liveKey(redis, name));
  const left = 60 - options.secondsAgo;
  await redis.hset(`${p.prefix}${p.identity}`, 'beat', String(Date.now() / 1000 - options.secondsAgo));
  await redis.expire(`${p.prefix}${p.identity}`, left);
  if (!options.taking) return undefined;
  const working = `${p.prefix}working:queue:${options.taking.queue}:${p.identity}`;
  const payload = await redis.lmove(options.taking.from, working, 'RIGHT', 'LEFT');
  if (payload === null) throw new Error(`${options.taking.from} is empty: nothing for ${name} to hold`);
  await redis.set(`${p.prefix}reliable-fetcher-heartbeat-${p.identity.replaceAll(':', '-')}`, '1', 'EX', left);
  return payload;
}

/** Stops every simulated process on these servers (and the beating, once none is left). */
export async function stopAllSidekiqs(redises: readonly Redis[]): Promise<void> {
  for (const [key, p] of [...live]) {
    if (!redises.includes(p.redis)) continue;
    live.delete(key);
    await p.redis.srem(`${p.prefix}processes`, p.identity);
    await p.redis.del(`${p.prefix}${p.identity}`);
  }
  if (live.size === 0 && beating) clearInterval(beating);
  if (live.size === 0) beating = undefined;
}

/**
 * A key's value as bytes: DUMP, but a hash's fields and a set's members sorted. A hash or set
 * stored as a hash table (a cron definition's `message` is longer than 64 bytes) dumps in its
 * table's order, which a read moves on while the table rehashes (HGET does a rehash step): the
 * same contents, another DUMP.
 */
async function valueBytes(redis: Redis, key: string): Promise<Buffer> {
  const type = await redis.type(key);
  if (type === 'hash') {
    const flat = await redis.hgetallBuffer(key);
    return Buffer.from(JSON.stringify(Object.entries(flat).map(([f, v]) => [f, v.toString('hex')]).sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0))));
  }
  if (type === 'set') return Buffer.from(JSON.stringify((await redis.smembersBuffer(key)).map((m) => m.toString('hex')).sort()));
  return (await redis.dumpBuffer(key)) ?? Buffer.alloc(0);
}

/**
 * Every key of the server and a digest of its value (DUMP; a hash's or set's sorted contents), to prove that a dry run wrote nothing.
 * TTLs are left out: a key with an expiry (a ledger) counts down while the dry run runs; so are the
 * heartbeat hashes of the simulated live processes.
 */
export async function keyContents(redis: Redis): Promise<Map<string, string>> {
  const contents = new Map<string, string>();
  // A simulated live process rewrites its heartbeat hash every second, as Sidekiq does.
  const heartbeatKeys = new Set([...live.values()].map((p) => `${p.prefix}${p.identity}`));
  let cursor = '0';
  do {
    const [next, page] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of page.filter((k) => !heartbeatKeys.has(k))) contents.set(key, createHash('sha256').update(await valueBytes(redis, key)).digest('hex'));
  } while (cursor !== '0');
  return new Map([...contents].sort(([a], [b]) => a.localeCompare(b)));
}
