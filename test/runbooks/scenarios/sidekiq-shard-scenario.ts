import { spawn } from 'node:child_process';
import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import { killAfterProgress } from '../../support/kill-child.js';
import { waitForLocksGone } from '../../support/lock-state.js';
import { repoPath } from '../../support/paths.js';
import { newJid, sidekiqPayload } from '../../support/sidekiq-jobs.js';
import { jobPlaces, keyContents, startSidekiq, type SeededJob } from '../support/gitlab-instance.js';
import type { RunbookScenario } from '../support/runbook-walk.js';

/** source_code_management workers: the rule with the store takes them. */
const MOVING = ['PostReceive', 'ProcessCommitWorker'];
/** Workers of other categories that share `default` with them, and a mail on `mailers`. */
const STAYING = ['EmailReceiverWorker', 'AuthorizedProjectsWorker'];
const NOW = Math.floor(Date.now() / 1000);
const CRON_KEY = 'cron_job:repository_check_worker';

/**
 * docs/runbooks/sidekiq-shard.md on a GitLab 17.x instance (unprefixed keys): the jobs of two
 * source_code_management workers and of two other workers share `default` on the main Sidekiq Redis,
 * with entries of both kinds in `schedule`, `retry` and `dead`; the routing rule gains a store
 * (test/fixtures/runbooks/sidekiq-shard/gitlab-with-store.yml) defined in a redis.yml naming the two
 * throwaway servers. Sidekiq processes are simulated heartbeats, producers are simulated pushes on
 * the side the feature flag sends them to. After the move every job of the moving classes is on the
 * shard exactly once, byte for byte with its score, and every other job where it was; after the
 * move back, the reverse.
 */
export function sidekiqShardScenario(main: () => Redis, shard: () => Redis, urls: () => { main: string; shard: string }): RunbookScenario {
  let seeded: SeededJob[] = [];
  let snapshot: Map<string, string>[] = [];
  const snap = async () => [await keyContents(main()), await keyContents(shard())];
  const isMoving = (job: SeededJob) => MOVING.includes(job.className);

  const seed = async (redis: Redis, className: string, where: 'default' | 'mailers' | 'schedule' | 'retry' | 'dead', score?: string) => {
    const jid = newJid();
    const queue = where === 'mailers' ? 'mailers' : 'default';
    const extra = where === 'retry' || where === 'dead' ? `"enqueued_at":${NOW}.5,"error_class":"Gitlab::Git::CommandError","failed_at":${NOW}.75,"retry_count":1` : `"enqueued_at":${NOW}.25`;
    const payload = sidekiqPayload({ className, queue, jid, extra });
    if (where === 'default' || where === 'mailers') {
      await redis.lpush(`queue:${queue}`, payload);
      await redis.sadd('queues', queue);
      seeded.push({ jid, className, key: `queue:${queue}`, payload });
    } else {
      await redis.zadd(where, score!, payload);
      seeded.push({ jid, className, key: where, payload, score });
    }
  };
  /** The seeded jobs (`which`) exactly once on `here`, at their own key with their bytes and score, and not on `there`. */
  const expectOn = async (which: SeededJob[], here: Redis, there: Redis) => {
    const [onHere, onThere] = await Promise.all([jobPlaces(here, ''), jobPlaces(there, '')]);
    for (const job of which) {
      expect(onHere.get(job.jid), `${job.className} ${job.jid} on ${job.key}`).toEqual([{ key: job.key, payload: job.payload, ...(job.score ? { score: job.score } : {}) }]);
      expect(onThere.get(job.jid), `${job.className} ${job.jid} must not be on the other Redis`).toBeUndefined();
    }
  };
  const moving = () => seeded.filter(isMoving);
  const staying = () => seeded.filter((j) => !isMoving(j));

  return {
    runbook: 'sidekiq-shard.md',
    fixture: 'sidekiq-shard',
    files: { 'all_queues.yml': 'test/fixtures/gitlab/all_queues.yml' },
    env: () => ({ RUNBOOK_MAIN_REDIS_URL: urls().main, RUNBOOK_SHARD_REDIS_URL: urls().shard }),
    redises: () => [main(), shard()],
    steps: {
      placeholders: { covers: 'STORE, REDIS_YML (a redis.yml naming both test servers), GITLAB_YML, CATALOG from test/fixtures/runbooks/sidekiq-shard/env.sh' },
      'deploy-shard': {
        covers: "simulated: the main Redis as the instance keeps it (both classes' jobs interleaved on default, in schedule, retry and dead, a mail, a cron definition of a moving class), a live process on each Redis",
        simulate: async () => {
          seeded = [];
          for (let i = 0; i < 3; i++) for (const c of [...MOVING, ...STAYING]) await seed(main(), c, 'default');
          await seed(main(), 'ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper', 'mailers');
          for (const c of [MOVING[0]!, STAYING[0]!]) {
            await seed(main(), c, 'schedule', `${NOW + 3600}.125`);
            await seed(main(), c, 'retry', `${NOW + 900}.0625`);
            await seed(main(), c, 'dead', `${NOW - 86_400}.25`);
          }
          // GitLab's cron schedule, saved at boot on the main Redis: one of a moving class.
          await main().sadd('cron_jobs', CRON_KEY);
          await main().hset(CRON_KEY, 'name', 'repository_check_worker', 'cron', '20 * * * *', 'status', 'enabled', 'klass', 'RepositoryCheck::DispatchWorker', 'message', '{"retry":false,"queue":"default","class":"RepositoryCheck::DispatchWorker","args":[]}');
          await startSidekiq(main(), '', 'gitlab-sidekiq-main', ['default', 'mailers']);
          await startSidekiq(shard(), '', 'gitlab-sidekiq-catchall-b', ['default']);
        },
      },
      routes: {
        covers: 'the routes table names the store of the source_code_management workers',
        shows: ['queues_shard_catchall_b', 'PostReceive', 'ProcessCommitWorker'],
      },
      'dry-run': {
        covers: 'counts the moving classes per class, writes nothing on either server (every key byte for byte)',
        before: async () => {
          snapshot = await snap();
        },
        shows: ['DRY RUN', 'PostReceive', 'ProcessCommitWorker'],
        after: async () => expect(await snap()).toEqual(snapshot),
      },
      'enable-flag': {
        covers: 'simulated: producers push the moving classes to the shard (a PostReceive job there), the others to the main Redis',
        simulate: async () => {
          await seed(shard(), 'PostReceive', 'default');
          await seed(main(), 'EmailReceiverWorker', 'default');
        },
      },
      move: {
        covers: "Complete; every job of the moving classes on the shard exactly once (queued, schedule, retry, dead; bytes and scores), every other job where it was; the cron definition stays on the main Redis, said so (no advice to copy it); the other classes' set entries, left on the main Redis, said to stay by design",
        shows: [
          'Complete: everything that could be moved was moved.',
          'sidekiq-cron: 1 definition(s) on the source stay there: a move of selected classes carries their jobs, not the schedules that push them',
          "Left in the source's sets when their pass ended, by the queue each entry names: schedule 1 (default 1); retry 1 (default 1); dead 1 (default 1).",
          '(the entries of classes not selected stay there by design; the lines above say why any other stayed; drain-check of the source counts them)',
        ],
        doesNotShow: ['--cron'],
        after: async () => {
          expect(await main().sismember('cron_jobs', CRON_KEY)).toBe(1);
          expect(await shard().exists('cron_jobs', CRON_KEY)).toBe(0);
          await expectOn(moving(), shard(), main());
          await expectOn(staying(), main(), shard());
        },
      },
      'drain-check': { covers: 'nothing of the moving classes left on the main Redis: `Selected classes: DRAINED`, exit 0', shows: ['Selected classes: DRAINED'] },
      resume: {
        covers:
          'more jobs of both kinds arrive late on the main Redis, a selective move of them is SIGKILLed mid-way (test/support/transfer-child.ts); before it, the check of step 5 says NOT DRAINED (exit 3 with the jobs in flight named, or 1 when the kill fell between slices); the command run again finishes it: each job once, on its side; DRAINED',
        before: async (ctx) => {
          // A node that still had the flag off pushed more jobs of both kinds to the main Redis...
          for (let i = 0; i < 8; i++) for (const c of [...MOVING, ...STAYING]) await seed(main(), c, 'default');
          // ...and a move of them (slices of 3) dies at a random moment after its first slices.
          const child = spawn(process.execPath, ['--import', 'tsx', repoPath('test/support/transfer-child.ts'), urls().main, urls().shard, 'killed-shard-move', MOVING.join(',')], {
            stdio: ['ignore', 'pipe', 'inherit'],
          });
          // The resume below must have something to finish: the kill must have landed mid-run.
          expect((await killAfterProgress(child, 1 + Math.floor(Math.random() * 3))).killed, 'the move was killed before it finished').toBe(true);
          await waitForLocksGone([main(), shard()]); // the killed run's lock (300 ms) expires
          // Step 5's check before the resume, as the runbook describes it: never drained while jobs
          // of those classes wait or are in flight; exit 3 when the kill left some in flight, else 1.
          const check = await ctx.shell('sidekiq-migrate drain-check --redis main --redis-yml "$REDIS_YML" "${CATALOG[@]}" --rules "$GITLAB_YML" --store "$STORE"');
          const inflight = (await main().keys('sidekiq-migrate:*:inflight:*')).length > 0;
          expect(check.stdout, check.stderr).toMatch(/^Selected classes: NOT DRAINED — \d+ job\(s\) left on redis:\/\/127\.0\.0\.1:\d+(, and \d+ in flight from interrupted transfers)?\.$/m);
          expect(check.stdout).not.toContain('Selected classes: DRAINED');
          if (inflight) expect(check.stdout).toContain('In flight from interrupted transfers');
          expect(check.exitCode, check.stdout).toBe(inflight ? 3 : 1);
        },
        shows: ['Complete: everything that could be moved was moved.', 'Selected classes: DRAINED'],
        after: async () => {
          await expectOn(moving(), shard(), main());
          await expectOn(staying(), main(), shard());
        },
      },
      'disable-flag': {
        covers: 'simulated: producers push the moving classes to the main Redis again (a PostReceive job there)',
        simulate: async () => {
          await seed(main(), 'PostReceive', 'default');
        },
      },
      'move-back': {
        covers: 'the dry run, then the move: every moving-class job back on the main Redis exactly once, bytes and scores kept; the others untouched',
        shows: ['DRY RUN', 'Complete: everything that could be moved was moved.'],
        after: async () => {
          await expectOn(seeded, main(), shard());
        },
      },
      'drain-check-back': { covers: 'nothing of the moving classes left on the shard: `Selected classes: DRAINED`, exit 0', shows: ['Selected classes: DRAINED'] },
    },
  };
}
