import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { CE_CATALOG } from '../support/paths.js';
import { startRedisServer } from '../support/redis-server.js';
import { runCli } from '../support/run-cli.js';
import {
  assertRealSidekiqInstalled,
  ProcessTracker,
  readJsonLines,
  runRuby,
  startSidekiq,
  storedJobs,
  storedOnce,
  waitUntil,
  waitUntilSidekiqIdle,
  type Execution,
  type SidekiqEnv,
  type StoredJob,
} from './support/real-sidekiq.js';

/*
 * A GitLab re-route as an operator runs it: real Sidekiq 6.4 clients push GitLab-named workers
 * (classes of the CE catalog) to their generated queues, plus ActiveJob jobs and ActionMailer
 * mail (deliver_later, now and later); `sidekiq-migrate run --catalog … --rules gitlab.yml`
 * re-routes them; a real `sidekiq` listening to the new queues (and `mailers`, and the old queue
 * that keeps the job of a class no catalog knows) then performs every due job exactly once.
 * Ruby side: test/compat/ruby/gitlab_workers.rb and gitlab_enqueue.rb (needs ruby-actionmailer).
 */

const ACTIVEJOB_WRAPPER = 'ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper';

/** A catalog entry for the ActiveJob class: routed by its `wrapped` class, as a worker of that name. */
const ACTIVE_JOB_CATALOG = `- :name: harness_active_job
  :worker_name: HarnessActiveJob
  :feature_category: :not_owned
  :has_external_dependencies: false
  :urgency: :low
  :resource_boundary: :unknown
  :weight: 1
  :idempotent: false
  :tags: []
  :queue_namespace:
`;

const RULES = `production:
  sidekiq:
    routing_rules:
      - ["worker_name=PostReceive", "urgent"]
      - ["worker_name=DeleteDiffFilesWorker", null]
      - ["worker_name=HarnessActiveJob", "aj_new"]
      - ["urgency=high", "high"]
      - ["*", "default"]
`;

/** Where GitLab's rules send each class's jobs; a class absent here has no destination (it stays). */
const DESTINATION: Readonly<Record<string, string>> = {
  PostReceive: 'urgent',
  MergeWorker: 'high',
  AdminEmailWorker: 'default',
  DeleteDiffFilesWorker: 'delete_diff_files',
  HarnessActiveJob: 'aj_new',
};

/** One line of gitlab_enqueue.rb's manifest. */
interface Enqueued {
  readonly jid: string;
  readonly kind: 'queued' | 'soon' | 'far' | 'retry';
  readonly queue: string;
  readonly class: string;
  readonly args_json: string;
}

/** The queue a job belongs on after the re-route: its class's destination, else where it was. */
const destinationOf = (job: Enqueued): string => DESTINATION[job.class] ?? job.queue;

/** Queues the server fetches from after the move. */
const LISTENED = ['urgent', 'high', 'default', 'delete_diff_files', 'aj_new', 'mailers', 'post_receive'];

const tracker = new ProcessTracker();
const workDir = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-gitlab-compat-'));
let keepWorkDir = false;
let started: Promise<{ url: string; redis: Redis; stop: () => Promise<void> }> | undefined;

/** This file's private redis-server, started on first use (inside a test: a missing Ruby fails it). */
function privateRedis() {
  return (started ??= (async () => {
    const server = await startRedisServer();
    const redis = new Redis(server.url, { protocol: 2, maxRetriesPerRequest: 1 });
    return { url: server.url, redis, stop: () => server.stop() };
  })());
}

afterAll(async () => {
  await tracker.stopAll();
  const ready = await started?.catch(() => undefined);
  ready?.redis.disconnect();
  await ready?.stop();
  if (!keepWorkDir) rmSync(workDir, { recursive: true, force: true });
}, 60_000);

interface Observed {
  readonly enqueued: Enqueued[];
  readonly before: Map<string, StoredJob[]>;
  readonly cli: { code: number; stdout: string; stderr: string };
  readonly after: Map<string, StoredJob[]>;
  readonly ran: Execution[];
  readonly atEnd: Map<string, StoredJob[]>;
}

/**
 * The story against a fresh Redis, with GitLab's Sidekiq 6 key namespace (`resque:gitlab`, read
 * with --namespace) or none.
 */
async function gitlabStory(namespace: string | null): Promise<Observed> {
  assertRealSidekiqInstalled();
  assertActionMailerInstalled();
  const { url, redis } = await privateRedis();
  await redis.flushall();
  const env: SidekiqEnv = { redisUrl: url, namespace };
  const keys = new SidekiqKeys(namespace === null ? '' : `${namespace}:`);
  const file = (name: string) => join(workDir, `${namespace ?? 'plain'}-${name}`);
  writeFileSync(file('harness_queues.yml'), ACTIVE_JOB_CATALOG);
  writeFileSync(file('gitlab.yml'), RULES);

  await runRuby(tracker, env, 'gitlab_enqueue.rb', [file('enqueued.jsonl')]);
  const enqueued = readJsonLines<Enqueued>(file('enqueued.jsonl'));
  const before = await storedJobs(redis, keys);

  const namespaceFlag = namespace === null ? [] : ['--namespace', namespace];
  const cli = await runCli('run', '--redis', url, ...namespaceFlag, '--catalog', CE_CATALOG, '--catalog', file('harness_queues.yml'), '--rules', file('gitlab.yml'));
  const after = await storedJobs(redis, keys);

  const due = enqueued.filter((j) => j.kind !== 'far');
  const ranFile = file('ran.jsonl');
  const sidekiq = startSidekiq(tracker, env, { queues: LISTENED, outFile: ranFile, logFile: file('sidekiq.log'), require: 'gitlab_workers.rb' });
  try {
    const missing = () => {
      const ran = new Set(readJsonLines<Execution>(ranFile).map((e) => e.jid));
      return due.filter((j) => !ran.has(j.jid));
    };
    await waitUntil(
      'the server has performed every due job',
      () => {
        sidekiq.assertRunning();
        return missing().length === 0;
      },
      {
        timeoutMs: 45_000,
        detail: async () => {
          const stored = await storedJobs(redis, keys);
          return missing()
            .map((j) => `not run: ${j.kind} ${j.class} ${j.jid}, stored at ${JSON.stringify(stored.get(j.jid)?.map((s) => s.place) ?? [])}`)
            .join('\n');
        },
      },
    );
    // Until nothing is left that could run a second time: a late duplicate would show.
    await waitUntilSidekiqIdle(redis, keys, LISTENED, { timeoutMs: 45_000, assertRunning: () => sidekiq.assertRunning() });
  } finally {
    await sidekiq.stop();
  }
  return { enqueued, before, cli, after, ran: readJsonLines<Execution>(ranFile), atEnd: await storedJobs(redis, keys) };
}

function assertActionMailerInstalled(): void {
  // As assertRealSidekiqInstalled: never skip silently.
  const probe = spawnSync('ruby', ['-e', 'require "action_mailer"'], { encoding: 'utf8', timeout: 30_000 });
  if (probe.error || probe.status !== 0) {
    const why = probe.error?.message ?? probe.stderr.trim().split('\n')[0];
    throw new Error(`This test needs Rails' ActionMailer (${why}): install it with \`apt-get install -y ruby-actionmailer\` (as root; .ci/run does this).`);
  }
}

/** The payload with only the queue changed: `queue`, and ActiveJob's `args[0].queue_name`. */
function withQueueRewritten(payload: string, from: string, to: string): string {
  if (from === to) return payload;
  let out = replaceExactlyOnce(payload, `"queue":${JSON.stringify(from)}`, `"queue":${JSON.stringify(to)}`);
  if (payload.includes(`"class":"${ACTIVEJOB_WRAPPER}"`)) out = replaceExactlyOnce(out, `"queue_name":${JSON.stringify(from)}`, `"queue_name":${JSON.stringify(to)}`);
  return out;
}

function replaceExactlyOnce(text: string, needle: string, replacement: string): string {
  const at = text.indexOf(needle);
  if (at < 0 || text.indexOf(needle, at + 1) >= 0) throw new Error(`expected exactly one ${needle} in ${text}`);
  return text.slice(0, at) + replacement + text.slice(at + needle.length);
}

describe.each([
  ['without a key namespace', null],
  ["with GitLab's Sidekiq 6 namespace resque:gitlab (--namespace)", 'resque:gitlab'],
])('%s', (_label, namespace) => {
  // The story runs once, in whichever test comes first; the other assesses what it saw.
  let story: Promise<Observed> | undefined;
  const seen = () =>
    (story ??= gitlabStory(namespace).catch((error: Error) => {
      keepWorkDir = true;
      throw new Error(`${error.message}\n(manifest, execution records and sidekiq log kept in ${workDir})`, { cause: error });
    }));

  it('run --catalog --rules gitlab.yml moves exactly the jobs GitLab routes elsewhere, bytes kept but the queue; mail and a removed class stay', async () => {
    const { enqueued, before, cli, after } = await seen();

    expect(cli.code, cli.stderr).toBe(0);
    const movedTo = /^Moved to \(4 queues\): (.*)$/m.exec(cli.stdout)?.[1]?.split(' · ').sort();
    expect(movedTo).toEqual(['aj_new 3', 'default 2', 'high 3', 'urgent 5']);
    // The mail no rule can route and the class no catalog knows are named, and where they stay:
    // not "Complete", since jobs were left in place.
    expect(cli.stdout).toContain('Left in place, no destination for their class: ActionMailer::MailDeliveryJob 3 · PlainJob 1\n');
    expect(cli.stdout).toContain('Jobs left in place (unmapped, unparsable, conflicts) by set and queue: schedule 2 · queue:mailers 1 · queue:post_receive 1\n');
    expect(cli.stdout).toContain('Done, but jobs were left behind: 4 left in place');
    expect(cli.stdout).not.toContain('Complete');

    expect(after.size).toBe(enqueued.length);
    for (const job of enqueued) {
      const was = storedOnce(before, job.jid);
      const is = storedOnce(after, job.jid);
      const to = destinationOf(job);
      const label = `${job.kind} ${job.class} ${job.jid}`;
      expect(is.place, label).toBe(was.place.startsWith('queue:') ? `queue:${to}` : was.place);
      expect(is.score, label).toBe(was.score);
      expect(is.payload, label).toBe(withQueueRewritten(was.payload, job.queue, to));
    }
    // The mail, now and later, is on `mailers` as Rails put it there.
    const mail = enqueued.filter((j) => j.class === 'ActionMailer::MailDeliveryJob');
    expect(mail.map((j) => storedOnce(after, j.jid).place).sort()).toEqual(['queue:mailers', 'schedule', 'schedule']);
  }, 150_000);

  it('real Sidekiq then performs every due job exactly once, from its new queue, with the same arguments; far jobs wait with their score', async () => {
    const { enqueued, ran, after, atEnd } = await seen();
    const due = enqueued.filter((j) => j.kind !== 'far');

    for (const job of due) {
      const runs = ran.filter((e) => e.jid === job.jid);
      expect(runs, `${job.kind} ${job.class} ${job.jid} must be performed exactly once`).toHaveLength(1);
      expect(runs[0]!.fetched_queue, `${job.kind} ${job.class}`).toBe(destinationOf(job));
      expect(runs[0]!.args_json, `arguments of ${job.kind} ${job.class}`).toBe(job.args_json);
      if (job.class === 'HarnessActiveJob') expect(runs[0]!.aj_queue_name).toBe('aj_new');
    }
    expect(ran.map((e) => e.jid).sort()).toEqual(due.map((j) => j.jid).sort());

    for (const job of enqueued.filter((j) => j.kind === 'far')) {
      expect(storedOnce(atEnd, job.jid), `${job.class} ${job.jid}`).toEqual(storedOnce(after, job.jid));
    }
    expect(atEnd.size).toBe(enqueued.length - due.length);
  }, 150_000);
});
