import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { repoPath } from '../../support/paths.js';
import { expect } from 'vitest';
import { jobPlaces, keyContents, killSidekiq, seedGitlabInstance, startSidekiq, type SeededJob } from '../support/gitlab-instance.js';
import { kindOf, leftoverTable, printedKinds } from '../support/leftover-table.js';
import type { RunbookScenario } from '../support/runbook-walk.js';

const NS = 'resque:gitlab:';
const QUEUES = ['post_receive', 'email_receiver', 'cronjob:admin_email', 'removed_worker', 'mailers', 'default'];
const WORKING = `${NS}working:queue:post_receive:gitlab-sidekiq-0:4242`;
const QUARANTINE_LEDGER = `${NS}sidekiq-migrate:quarantine:a:ledger:b`;
const jidOf = (payload: string): string => /"jid":"([0-9a-f]+)"/.exec(payload)![1]!;

/**
 * docs/runbooks/redis-move.md, its local path (`move`, `drain-check`), from an old to a new
 * throwaway Redis, GitLab with the resque:gitlab: prefix: a Sidekiq process on each side
 * (simulated heartbeats), producers switched to the new side (a job pushed there), a killed
 * worker's reliable-fetcher list on the old side recovered at the end. Every job must end on the
 * new Redis exactly once, byte for byte, with its score.
 */
export function redisMoveScenario(old: () => Redis, next: () => Redis, urls: () => { old: string; next: string }): RunbookScenario {
  let seeded: SeededJob[] = [];
  let workingPayload = '';
  /** The job the old-side process held in its reliable fetcher's working list when it was killed. */
  let heldPayload = '';
  let heldList = '';
  let beforeDryRun: Map<string, string>[] = [];
  let beforeLedgers = new Map<string, string>();
  const snapshot = async () => [await keyContents(old()), await keyContents(next())];
  const jobsOn = async (redis: Redis) => new Map([...(await jobPlaces(redis, NS))].filter(([, places]) => places.every((p) => !p.key.includes('sidekiq-migrate:'))));
  /** Each seeded job (but those in `except`) exactly once, on the new Redis, at its own key, bytes and score. */
  const allOnNew = async (except: readonly string[] = []) => {
    const onNew = await jobsOn(next());
    const onOld = await jobsOn(old());
    for (const job of seeded) {
      if (except.includes(job.jid)) continue;
      expect(onNew.get(job.jid), job.jid).toEqual([{ key: job.key, payload: job.payload, ...(job.score ? { score: job.score } : {}) }]);
      expect(onOld.get(job.jid), job.jid).toBeUndefined();
    }
  };
  return {
    runbook: 'redis-move.md',
    fixture: 'redis-move',
    env: () => ({ RUNBOOK_OLD_REDIS_URL: urls().old, RUNBOOK_NEW_REDIS_URL: urls().next }),
    redises: () => [old(), next()],
    steps: {
      placeholders: { covers: 'OLD_REDIS, NEW_REDIS, NS (resque:gitlab:), DEPLOYED from test/fixtures/runbooks/redis-move/env.sh' },
      'cdk-deploy': { covers: 'not run: needs AWS (the stack is tested in test/infra/)' },
      'transfer-dry-run-deployed': { covers: 'not run: needs the deployed stack' },
      'transfer-dry-run': {
        covers: 'seeds the old Redis (a live old-side process); the dry run counts and writes nothing on either server',
        before: async () => {
          seeded = await seedGitlabInstance(old(), NS, { heartbeatQueues: QUEUES });
          workingPayload = (await old().lrange(WORKING, 0, -1))[0]!;
          beforeDryRun = await snapshot();
        },
        // The seeded working list's worker (gitlab-sidekiq-0:4242) beats no heartbeat: gone.
        shows: ['DRY RUN', 'Dry run, nothing written: a run would move 10 job(s) and leave jobs behind: 1 in private lists of gone workers'],
        after: async () => expect(await snapshot()).toEqual(beforeDryRun),
      },
      'switch-sidekiq-nodes': {
        covers: 'simulated: a Sidekiq process on the new Redis (heartbeat under the same prefix)',
        simulate: async () => startSidekiq(next(), NS, 'gitlab-sidekiq-new-side', QUEUES),
      },
      'switch-rails-nodes': {
        covers: 'simulated: producers push to the new Redis (a job on its post_receive queue)',
        simulate: async () => {
          const payload = '{"retry":true,"queue":"post_receive","args":[5],"class":"PostReceive","jid":"0000000000000000000000dd","created_at":1795459303.5}';
          await next().lpush(`${NS}queue:post_receive`, payload);
          seeded.push({ jid: '0000000000000000000000dd', className: 'PostReceive', key: `${NS}queue:post_receive`, payload });
        },
      },
      'sets-deployed': { covers: 'not run: needs the deployed stack' },
      'sets-local': {
        covers: 'schedule, retry and dead arrive on the new Redis (exact bytes and scores), nothing left in the old sets; queues untouched',
        // The queues it leaves to the live old side are named, not called moved.
        shows: ['DRY RUN', 'Not looked at by this run (--no-queues), 6 job(s): queue:post_receive 2', 'Done, but jobs were left behind: 6 in sets and queues this run did not look at'],
        doesNotShow: ['Complete'],
        after: async () => {
          const onNew = await jobsOn(next());
          for (const job of seeded.filter((j) => !j.key.includes('queue:'))) expect(onNew.get(job.jid)).toEqual([{ key: job.key, payload: job.payload, score: job.score }]);
          for (const set of ['schedule', 'retry', 'dead']) expect(await old().zcard(`${NS}${set}`)).toBe(0);
          expect(await old().llen(`${NS}queue:post_receive`)).toBe(2);
        },
      },
      'ssm-tunnel': { covers: 'not run: needs AWS (the test reaches both servers directly)' },
      'drain-check-deployed': { covers: 'not run: needs the deployed stack (`drain-check --deployed` is tested in test/unit/cli/drain-check-deployed.test.ts)' },
      'drain-check-old': {
        covers: 'reads the prefixed keys: the live old-side process, its queues listened to, exit 0; saves old-1.json and old-2.json',
        shows: ['Sidekiq processes: 1 live', 'post_receive'],
        doesNotShow: ['NONE'],
        after: async (ctx) => {
          expect(JSON.parse(ctx.file('old-2.json')).remaining).toBeGreaterThan(0);
          // What the runbook says of the check without --namespace is what the operator sees.
          const without = await ctx.shell('sidekiq-migrate drain-check --redis "$OLD_REDIS" || echo "exit code $?"');
          expect(without.stdout).toContain('exit code 2');
          expect(without.stderr).toContain(`Sidekiq keys are there under "${NS}"`);
          const runbook = readFileSync(repoPath('docs/runbooks/redis-move.md'), 'utf8');
          expect(runbook).toContain('Always pass `--namespace "$NS"`: without it, on a prefixed instance, the check stops with exit code 2');
        },
      },
      'move-old-workers': {
        covers:
          "simulated: the old-side process is killed 50 s ago holding a post_receive job in its reliable fetcher's working list: as a real Sidekiq leaves it, it stays in `processes` and its heartbeat hash and fetcher heartbeat live 10 s more",
        simulate: async () => {
          heldPayload = (await killSidekiq(old(), 'gitlab-sidekiq-ns', { secondsAgo: 50, taking: { from: `${NS}queue:post_receive`, queue: 'post_receive' } }))!;
          heldList = (await old().keys(`${NS}working:queue:post_receive:gitlab-sidekiq-ns:*`))[0]!;
        },
      },
      'old-workers-gone': {
        covers: "waits until the killed process's heartbeat has expired (0 live, 0 quiet), then says so; old-now.json agrees",
        shows: ['No Sidekiq process left on the old Redis.'],
        doesNotShow: ['drain-check failed'],
        after: async (ctx) => expect(JSON.parse(ctx.file('old-now.json')).processes).toMatchObject({ live: 0, quiet: 0 }),
      },
      'final-deployed': { covers: 'not run: needs the deployed stack' },
      'final-local': {
        covers: 'every job on the new Redis exactly once, bytes and scores kept, but the jobs in the two working lists of killed workers, which the summary names',
        shows: ['Done, but jobs were left behind: 2 in private lists of gone workers'],
        doesNotShow: ['Complete'],
        after: async () => {
          await allOnNew([jidOf(workingPayload), jidOf(heldPayload)]);
          expect(await old().lrange(WORKING, 0, -1)).toEqual([workingPayload]);
          expect(await old().lrange(heldList, 0, -1)).toEqual([heldPayload]);
        },
      },
      'final-check': {
        covers: "STUCK, exit 3: the killed workers' working lists hold a job each and no live process is left to return them",
        exitCode: 3,
        shows: ['STUCK — 2 job(s) left', '2 job(s) sit in the private lists of workers that are gone', `${WORKING}: 1 job(s), worker gone`, `${heldList}: 1 job(s), worker gone`],
        doesNotShow: ['DRAINED'],
      },
      'recover-private-lists': {
        covers: "simulated: an old-side Sidekiq's orphan recovery pushes the jobs back onto their queue",
        simulate: async () => {
          await old().lmove(WORKING, `${NS}queue:post_receive`, 'RIGHT', 'LEFT');
          await old().lmove(heldList, `${NS}queue:post_receive`, 'RIGHT', 'LEFT');
        },
      },
      'transfer-again': {
        covers: "the recovered job reaches the new Redis; DRAINED (no working list left), and the new Redis still carries the target id the move found there; every job on the new Redis exactly once",
        shows: ['Complete: everything that could be moved was moved.', 'DRAINED — 0 job(s) left', 'Target of run final-again: ', ' still carries the target id '],
        doesNotShow: ['working:queue:', 'Taken by workers'],
        after: async () => {
          await allOnNew();
          const onNew = await jobsOn(next());
          expect(onNew.get(jidOf(workingPayload))).toEqual([{ key: `${NS}queue:post_receive`, payload: workingPayload }]);
          expect(onNew.get(jidOf(heldPayload))).toEqual([{ key: `${NS}queue:post_receive`, payload: heldPayload }]);
          expect(await jobsOn(old())).toEqual(new Map());
        },
      },
      'cdk-destroy': { covers: 'not run: needs AWS' },
      leftovers: {
        covers: "no in-flight key left on the old Redis; the kinds printed, with their counts, are every key the tool left on each side, each a row of the runbook's *What a transfer leaves behind* that names that side",
        doesNotShow: [':inflight:', 'unknown'],
        after: async (_ctx, result) => {
          const table = leftoverTable();
          const printed = printedKinds(result.stdout);
          const expected: { side: 'old' | 'new'; kind: string; count: number }[] = [];
          for (const [side, redis] of [['old', old()], ['new', next()]] as const) {
            const counts = new Map<string, number>();
            for (const key of await redis.keys(`${NS}sidekiq-migrate:*`)) counts.set(kindOf(NS, key), (counts.get(kindOf(NS, key)) ?? 0) + 1);
            for (const [kind, count] of counts) expected.push({ side, kind, count });
          }
          const order = (a: { side: string; kind: string }, b: { side: string; kind: string }) => `${a.side} ${a.kind}`.localeCompare(`${b.side} ${b.kind}`);
          expect(printed.sort(order)).toEqual(expected.sort(order));
          expect(printed.map((p) => p.kind)).toEqual(expect.arrayContaining(['sidekiq-migrate:<run>:ledger:…', 'sidekiq-migrate:target-id']));
          for (const { side, kind } of printed) expect([side, 'both'], kind).toContain(table.get(kind)?.where);
        },
      },
      ledgers: {
        covers: "every ledger on the new Redis removed (prints 0), the rest of the new Redis's keys as they were: a quarantine list of a queue whose name holds `:ledger:` stays",
        before: async () => {
          const ledgers = (await next().keys(`${NS}sidekiq-migrate:*:ledger:*`)).length;
          expect(ledgers).toBeGreaterThan(0);
          // Jobs a re-route on the new Redis put aside from a queue named `a:ledger:b`: the pattern matches them too.
          await next().rpush(QUARANTINE_LEDGER, '{"class":"A","queue":"a:ledger:b","args":[1],"jid":"0000000000000000000000cc"}');
          beforeLedgers = await keyContents(next());
        },
        shows: [/^\s*0\s*$/m],
        after: async () => {
          expect(await next().keys(`${NS}sidekiq-migrate:*:ledger:*`)).toEqual([QUARANTINE_LEDGER]);
          const rest = new Map([...beforeLedgers].filter(([key]) => !key.includes(':ledger:') || key === QUARANTINE_LEDGER));
          expect(await keyContents(next())).toEqual(rest);
          await next().del(QUARANTINE_LEDGER);
          await allOnNew();
        },
      },
      'stop-deployed': { covers: 'not run: needs the deployed stack (`stop` is tested in test/unit/cli/deployed-commands.test.ts)' },
      'resume-deployed': { covers: 'not run: needs the deployed stack (`start --resume` is tested in test/unit/cli/deployed-commands.test.ts)' },
      'going-back-deployed': { covers: 'not run: needs the deployed stack' },
      'going-back-local': {
        covers: 'a dry run of the transfer back: counts, writes nothing on either server',
        before: async () => {
          beforeDryRun = await snapshot();
        },
        shows: ['DRY RUN'],
        after: async () => expect(await snapshot()).toEqual(beforeDryRun),
      },
    },
  };
}
