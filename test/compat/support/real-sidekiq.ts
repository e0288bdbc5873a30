import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import type { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { expect } from 'vitest';

/**
 * Drives the REAL Sidekiq 6.4 (Debian's ruby-sidekiq, with ruby-activejob and
 * ruby-redis-namespace) from the compatibility tests: Ruby client scripts and the `sidekiq`
 * server, all in test/compat/ruby/. Every process started here is tracked and stopped by its pid.
 */

export const RUBY_DIR = fileURLToPath(new URL('../ruby/', import.meta.url));
const WORKERS_RB = `${RUBY_DIR}workers.rb`;

export const REAL_SIDEKIQ_INSTALL = 'apt-get install -y ruby ruby-sidekiq ruby-activejob ruby-actionmailer ruby-redis-namespace ruby-gitlab-sidekiq-fetcher';

/**
 * Fails at once, saying how to fix it, when Ruby, Sidekiq 6.x, ActiveJob, redis-namespace, GitLab's
 * reliable fetcher (sidekiq-reliable-fetch) or the `sidekiq` executable is missing. The compatibility suite must never skip silently.
 */
export function assertRealSidekiqInstalled(): void {
  const probe = spawnSync(
    'ruby',
    ['-e', 'require "sidekiq"; require "active_job"; require "redis-namespace"; require "sidekiq-reliable-fetch"; print Sidekiq::VERSION'],
    { encoding: 'utf8', timeout: 30_000 },
  );
  const problem =
    probe.error || probe.status !== 0
      ? `ruby could not load sidekiq, active_job, redis-namespace and sidekiq-reliable-fetch: ${probe.error?.message ?? probe.stderr.trim().split('\n')[0]}`
      : !probe.stdout.startsWith('6.')
        ? `Sidekiq ${probe.stdout} found, but these tests need Sidekiq 6.x (redis-namespace support was removed in 7.0)`
        : spawnSync('sidekiq', ['-V'], { encoding: 'utf8', timeout: 30_000 }).status !== 0
          ? 'the `sidekiq` executable is not on PATH'
          : null;
  if (problem) {
    throw new Error(
      `The real-Sidekiq compatibility tests (test/compat) need Ruby with Sidekiq 6.4, ActiveJob, redis-namespace and GitLab's reliable fetcher: ${problem}. ` +
        `Install them with \`${REAL_SIDEKIQ_INSTALL}\` (Debian/Ubuntu, as root; .ci/run does this), then run the tests again.`,
    );
  }
}

/** Where a test's Ruby processes talk to, and what they record. */
export interface SidekiqEnv {
  readonly redisUrl: string;
  /** redis-namespace prefix without the trailing ':' (Sidekiq's `namespace:` option), or null. */
  readonly namespace: string | null;
}

function rubyEnv(env: SidekiqEnv, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    REDIS_URL: env.redisUrl,
    HARNESS_NAMESPACE: env.namespace ?? '',
    HARNESS_RETRY_IN: '1',
    HARNESS_POLL_INTERVAL: '0.5',
    ...extra,
  };
}

/** Every child process a test file starts; `stopAll` in afterAll stops the survivors by pid. */
export class ProcessTracker {
  private readonly children = new Set<ChildProcess>();
  private readonly killAll = () => {
    for (const child of this.children) if (isRunning(child)) child.kill('SIGKILL');
  };

  constructor() {
    // Last resort if the test worker exits without running afterAll.
    process.once('exit', this.killAll);
  }

  track(child: ChildProcess): ChildProcess {
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.children].map((child) => stopByPid(child, 5_000)));
    process.removeListener('exit', this.killAll);
  }
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** SIGTERM to the child's pid; SIGKILL if it is still there after `graceMs`. */
async function stopByPid(child: ChildProcess, graceMs: number): Promise<void> {
  if (!isRunning(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    process.kill(child.pid!, 'SIGTERM');
  } catch {
    return; // already gone
  }
  const killer = setTimeout(() => {
    if (isRunning(child)) child.kill('SIGKILL'); // by its pid; a no-op if it has just exited
  }, graceMs);
  await exited;
  clearTimeout(killer);
}

/** Runs `ruby test/compat/ruby/SCRIPT ARGS…` to completion; rejects with its output if it fails. */
export function runRuby(tracker: ProcessTracker, env: SidekiqEnv, script: string, args: readonly string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = tracker.track(spawn('ruby', [`${RUBY_DIR}${script}`, ...args], { env: rubyEnv(env), stdio: ['ignore', 'pipe', 'pipe'] }));
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => void stopByPid(child, 2_000), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`ruby ${script} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${output}`));
    });
  });
}

/** A real `sidekiq` server process. */
export interface SidekiqServer {
  readonly pid: number;
  /** Throws, with the tail of the server's log, if the process has exited on its own. */
  assertRunning(): void;
  /** Graceful stop (TERM; Sidekiq waits for busy jobs), SIGKILL after 15 s. */
  stop(): Promise<void>;
}

/**
 * Starts Debian's `sidekiq -r workers.rb -c CONCURRENCY -q Q…` listening to exactly `queues`.
 * Each successful perform appends a JSON line to `outFile` (see workers.rb); the server's own
 * output goes to `logFile`. With `jobSeconds`, every job first sleeps that long (a slow server).
 * `require` loads another file of test/compat/ruby/ instead of workers.rb (which it builds on),
 * `env` adds what that file reads.
 */
export function startSidekiq(
  tracker: ProcessTracker,
  env: SidekiqEnv,
  options: {
    queues: readonly string[];
    outFile: string;
    logFile: string;
    concurrency?: number;
    jobSeconds?: number;
    require?: string;
    env?: Record<string, string>;
    /** Sidekiq's shutdown timeout (`-t`, seconds; default 5): how long a TERM waits for running jobs before pushing them back. */
    shutdownTimeout?: number;
  },
): SidekiqServer {
  const log = openSync(options.logFile, 'a');
  const required = options.require === undefined ? WORKERS_RB : `${RUBY_DIR}${options.require}`;
  const child = tracker.track(
    spawn('sidekiq', ['-r', required, '-c', String(options.concurrency ?? 5), '-t', String(options.shutdownTimeout ?? 5), ...options.queues.flatMap((q) => ['-q', q])], {
      env: rubyEnv(env, { ...options.env, HARNESS_OUT: options.outFile, HARNESS_JOB_SECONDS: String(options.jobSeconds ?? 0) }),
      stdio: ['ignore', log, log],
    }),
  );
  closeSync(log);
  const logTail = () => (existsSync(options.logFile) ? readFileSync(options.logFile, 'utf8').split('\n').slice(-30).join('\n') : '');
  return {
    pid: child.pid!,
    assertRunning() {
      if (!isRunning(child)) throw new Error(`sidekiq (pid ${child.pid}) exited on its own (${child.exitCode ?? child.signalCode}):\n${logTail()}`);
    },
    stop: () => stopByPid(child, 15_000),
  };
}

/** One line of the manifest enqueue.rb writes. */
export interface EnqueuedJob {
  readonly jid: string;
  readonly kind: 'plain' | 'soon' | 'far' | 'retry' | 'dead' | 'aj' | 'aj_soon' | 'aj_far' | 'long' | 'flaky';
  /** The queue the real client enqueued it to. */
  readonly queue: string;
  /** The job class (for ActiveJob: the ActiveJob class, not Sidekiq's wrapper). */
  readonly class: string;
  /** Ruby's JSON.generate of the arguments perform must receive. */
  readonly args_json: string;
}

/** One line workers.rb appends to HARNESS_OUT per successful perform. */
export interface Execution {
  readonly jid: string;
  readonly class: string;
  /** The list the server popped the job from (`queue:NAME` minus `queue:`). */
  readonly fetched_queue: string;
  readonly payload_queue: string;
  /** Ruby's JSON.generate of the arguments perform received. */
  readonly args_json: string;
  /** ActiveJob's `queue_name` as the job saw it (deserialised from `args[0]`); null otherwise. */
  readonly aj_queue_name: string | null;
  readonly pid: number;
}

/**
 * Parses a JSON-lines file (an absent file is empty). Only strings and small ints are read. Every
 * writer (test/compat/ruby) ends each line with a newline; what follows the last one is a line
 * still being written by a worker while this polls (read without its flock), and is left for the
 * next read: parsed, it failed the rollback story once ("Unterminated string in JSON").
 */
export function readJsonLines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.pop(); // '' after the last newline, or a line not written whole yet
  return lines.filter((line) => line !== '').map((line) => JSON.parse(line) as T);
}

/** Where a job payload sits: `queue:NAME` (list) or `schedule`/`retry`/`dead` (with its score text). */
export interface StoredJob {
  readonly place: string;
  /** The payload exactly as stored. */
  readonly payload: string;
  readonly score?: string;
}

/**
 * Every payload in the queue lists and the three sorted sets under `keys.prefix`, grouped by jid
 * (a jid stored twice shows up twice). Scores are Redis's own text, compared as text.
 */
export async function storedJobs(redis: Redis, keys: SidekiqKeys): Promise<Map<string, StoredJob[]>> {
  const found: StoredJob[] = [];
  let cursor = '0';
  do {
    const [next, names] = await redis.scan(cursor, 'MATCH', `${keys.prefix}queue:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of names) {
      if ((await redis.type(key)) !== 'list') continue;
      for (const payload of await redis.lrange(key, 0, -1)) found.push({ place: `queue:${keys.queueNameOf(key)}`, payload });
    }
  } while (cursor !== '0');
  for (const set of ['schedule', 'retry', 'dead'] as const) {
    const flat = await redis.zrange(keys.sortedSet(set), 0, '-1', 'WITHSCORES');
    for (let i = 0; i < flat.length; i += 2) found.push({ place: set, payload: flat[i]!, score: flat[i + 1]! });
  }
  const byJid = new Map<string, StoredJob[]>();
  for (const job of found) {
    const jid = jidOf(job.payload);
    byJid.set(jid, [...(byJid.get(jid) ?? []), job]);
  }
  return byJid;
}

/**
 * Waits until every job of `notRunYet()` has run on one of the two servers, every Sidekiq process
 * still running; on timeout the error names each job not run and where it is stored on either side.
 */
export async function waitUntilEveryJobRan<J extends { readonly jid: string }>(options: {
  readonly running: readonly SidekiqServer[];
  readonly notRunYet: () => J[];
  readonly old: Redis;
  readonly neu: Redis;
  readonly keys: SidekiqKeys;
  readonly timeoutMs: number;
  /** How a job not run is named in the error (its kind, its class…). */
  readonly describe: (job: J) => string;
}): Promise<void> {
  const { running, notRunYet, old, neu, keys } = options;
  await waitUntil(
    'every runnable job has run on one of the servers',
    () => {
      running.forEach((s) => s.assertRunning());
      return notRunYet().length === 0;
    },
    {
      timeoutMs: options.timeoutMs,
      detail: async () => {
        const [onOld, onNew] = await Promise.all([storedJobs(old, keys), storedJobs(neu, keys)]);
        const where = (jid: string) => [...(onOld.get(jid) ?? []).map((s) => `old ${s.place}`), ...(onNew.get(jid) ?? []).map((s) => `new ${s.place}`)];
        return notRunYet()
          .map((j) => `not run: ${options.describe(j)}, stored at ${JSON.stringify(where(j.jid))}`)
          .join('\n');
      },
    },
  );
}

/** The one place the job `jid` is stored in; fails the test when it is stored twice or not at all. */
export function storedOnce(stored: Map<string, StoredJob[]>, jid: string): StoredJob {
  const entries = stored.get(jid) ?? [];
  expect(entries, `job ${jid} must be stored exactly once`).toHaveLength(1);
  return entries[0]!;
}

/** A payload's jid (JSON.parse is fine for reading strings; never for re-encoding). */
export function jidOf(payload: string): string {
  return String((JSON.parse(payload) as { jid?: unknown }).jid);
}

/** Polls `check` until it returns true; fails with `what` (and `detail()`) after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  options: { timeoutMs: number; intervalMs?: number; detail?: () => string | Promise<string> },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`Timed out after ${options.timeoutMs} ms waiting until ${what}${options.detail ? `\n${await options.detail()}` : ''}`);
    await sleep(options.intervalMs ?? 200);
  }
}

/**
 * Waits until the Sidekiq servers on `redis` can run nothing more, instead of sleeping "long
 * enough" to see a late duplicate: the lists in `queues` (those the servers fetch from) are empty,
 * no `schedule`/`retry` entry falls due within `horizonSeconds` (null: the sets are not looked at),
 * and since that moment every process in `processes` has sent a heartbeat saying busy 0. Whatever
 * ran by then is in the servers' output; nothing can run later.
 */
export async function waitUntilSidekiqIdle(
  redis: Redis,
  keys: SidekiqKeys,
  queues: readonly string[],
  options: { timeoutMs: number; horizonSeconds?: number | null; assertRunning?: () => void },
): Promise<void> {
  let quietSince: number | undefined;
  let last = '';
  await waitUntil(
    'the queues are empty, nothing falls due soon, and every Sidekiq process reports busy 0 after that',
    async () => {
      options.assertRunning?.();
      const now = Date.now();
      const lengths = await Promise.all(queues.map((q) => redis.llen(keys.queue(q))));
      const horizon = options.horizonSeconds === undefined ? 3_600 : options.horizonSeconds;
      const due = horizon === null ? 0 : (await redis.zcount(keys.sortedSet('schedule'), '-inf', now / 1000 + horizon)) + (await redis.zcount(keys.sortedSet('retry'), '-inf', now / 1000 + horizon));
      last = `queue lengths ${JSON.stringify(lengths)}, due within the horizon ${due}`;
      if (lengths.some((n) => n > 0) || due > 0) {
        quietSince = undefined;
        return false;
      }
      quietSince ??= now;
      const identities = await redis.smembers(keys.processes);
      const beats = await Promise.all(identities.map(async (id) => (await redis.hmget(`${keys.prefix}${id}`, 'busy', 'beat')) as [string | null, string | null]));
      last += `, heartbeats ${JSON.stringify(beats)} since ${quietSince}`;
      return beats.length > 0 && beats.every(([busy, beat]) => busy === '0' && Number(beat) * 1000 > quietSince!);
    },
    { timeoutMs: options.timeoutMs, intervalMs: 100, detail: () => last },
  );
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
