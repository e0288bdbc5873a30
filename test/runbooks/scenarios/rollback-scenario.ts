import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import { jobPlaces, keyContents, seedGitlabInstance } from '../support/gitlab-instance.js';
import type { RunbookScenario, WalkContext } from '../support/runbook-walk.js';

const NS = 'resque:gitlab:';
const WRONG_RUN = 'sidekiq-migrate run --redis "$REDIS" --namespace "$NS" "${CATALOG[@]}" --rules wrong-rules.yml';

/**
 * docs/runbooks/rollback.md on an instance with the resque:gitlab: prefix, after the routing
 * runbook's step 4 ran twice with wrong rules (two run ids: a second run moved a job a node with
 * the old rules pushed in between). Sidekiq is a simulated heartbeat fetching old and wrong
 * queues, as step 2 of the rollback runbook requires.
 */
export function rollbackScenario(redis: () => Redis, url: () => string): RunbookScenario {
  let beforeDryRun = new Map<string, string>();
  let original = new Map<string, { key: string; payload: string; score?: string }[]>();
  const jobsNow = async () => new Map([...(await jobPlaces(redis(), NS))].filter(([, places]) => places.every((p) => !p.key.includes('sidekiq-migrate:'))));
  return {
    runbook: 'rollback.md',
    fixture: 'rollback',
    files: { 'all_queues.yml': 'test/fixtures/gitlab/all_queues.yml' },
    env: () => ({ RUNBOOK_REDIS_URL: url() }),
    redises: () => [redis()],
    steps: {
      placeholders: { covers: 'REDIS, NS (resque:gitlab:), CATALOG from test/fixtures/runbooks/rollback/env.sh' },
      'find-runs': {
        covers: 'after two wrong runs (set up through the CLI), lists both run ids, newest first',
        before: async (ctx: WalkContext) => {
          await seedGitlabInstance(redis(), NS, { heartbeatQueues: ['post_receive', 'email_receiver', 'cronjob:admin_email', 'removed_worker', 'mailers', 'default', 'urgent'] });
          original = await jobsNow();
          const first = await ctx.shell(WRONG_RUN);
          expect(first.exitCode, first.stderr).toBe(0);
          // A node with the old rules pushes a job to an old queue; the second run moves it.
          const stale = '{"retry":true,"queue":"post_receive","args":[9],"class":"PostReceive","jid":"0000000000000000000000cc","created_at":1795459303.5}';
          await redis().lpush(`${NS}queue:post_receive`, stale);
          original.set('0000000000000000000000cc', [{ key: `${NS}queue:post_receive`, payload: stale }]);
          const second = await ctx.shell(WRONG_RUN);
          expect(second.exitCode, second.stderr).toBe(0);
          // Quarantine lists of queues named `moves` and `x:moves` (sidekiq-migrate:quarantine:<queue>)
          // end as a record of moves does: they are no runs.
          for (const queue of ['moves', 'x:moves']) await redis().rpush(`${NS}sidekiq-migrate:quarantine:${queue}`, stale);
        },
        after: async (ctx) => {
          const runs = ctx.file('runs.txt').split('\n').filter(Boolean);
          expect(runs).toHaveLength(2);
          expect(runs.every((r) => r.startsWith('reroute-'))).toBe(true);
          expect([...runs].sort().reverse()).toEqual(runs);
          for (const queue of ['moves', 'x:moves']) await redis().del(`${NS}sidekiq-migrate:quarantine:${queue}`);
        },
      },
      'what-each-moved': { covers: "prints each run's recorded moves and its record's expiry", shows: ['["PostReceive","post_receive","urgent"]', '["AdminEmailWorker","cronjob:admin_email","default"]', 'record expires in'] },
      'rollback-dry-run': {
        covers: 'a dry run per run id, writing nothing (every key byte for byte)',
        shows: ['DRY RUN', 'Dry run, nothing written: a rollback would put back '],
        before: async () => {
          beforeDryRun = await keyContents(redis());
        },
        after: async () => {
          expect(await keyContents(redis())).toEqual(beforeDryRun);
        },
      },
      rollback: {
        covers: 'both runs rolled back, newest first, each Complete; every job back on its original queue or set with its original bytes and score',
        shows: ['Complete: everything that could be moved was moved.'],
        after: async (_ctx, result) => {
          // Each of the two rollbacks, not one of them.
          expect(result.stdout.match(/^Complete: everything that could be moved was moved\.$/gm)).toHaveLength(2);
          const now = await jobsNow();
          for (const [jid, places] of original) {
            if (places.some((p) => p.key.startsWith(`${NS}working:`))) continue;
            expect(now.get(jid), jid).toEqual(places);
          }
        },
      },
      'rollback-deployed': { covers: 'not run: needs the deployed stack (`start --rollback` is tested in test/unit/cli/deployed-commands.test.ts)' },
      verify: {
        covers: "the wrongly added queues (default, urgent) are drained: DRAINED, exit 0, its line saying the count is theirs only; the dead job put back on its own queue is no concern of this scope (no 'transfer them or accept losing them')",
        shows: ['DRAINED — 0 job(s) left of the 2 retired queue(s) only (jobs of other queues are not counted)\n', /^dead +1 total, .*, 0 for retired queues$/m],
        doesNotShow: ['STUCK', 'transfer them', 'dead or interrupted entries'],
      },
    },
  };
}
