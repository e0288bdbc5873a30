import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import { jobPlaces, keyContents, queueField, seedGitlabInstance, startSidekiq, type SeededJob } from '../support/gitlab-instance.js';
import { blocksOf, type RunbookScenario, type WalkContext } from '../support/runbook-walk.js';

/**
 * docs/runbooks/routing-change.md on a GitLab 16.5+ instance: live processes and most jobs
 * unprefixed, a few jobs left under `resque:gitlab:` by a late node; one queue per worker before,
 * GitLab's `high-urgency` + `default` after. Sidekiq processes are simulated heartbeats
 * (test/support/sidekiq-heartbeat.ts): each `gitlab-ctl reconfigure` becomes a heartbeat with the
 * queues the runbook had the operator configure; producers and a stale sidekiq-cron definition
 * are simulated the same way.
 */
/** Jobs an earlier `run --unmapped quarantine` put in quarantine: a removed worker's. */
const QUARANTINED = [1, 2, 3].map((i) => `{"retry":true,"queue":"removed_worker","args":[${i}],"class":"RemovedWorker","jid":"0000000000000000000000b${i}","created_at":1795459303.5}`);

/** A quarantine list whose queue name holds `:ledger:`: the ledgers' pattern matches it too. */
const QUARANTINE_LEDGER = 'sidekiq-migrate:quarantine:a:ledger:b';

export function routingChangeScenario(redis: () => Redis, url: () => string): RunbookScenario {
  let seeded: SeededJob[] = [];
  let leftovers: SeededJob[] = [];
  let beforeDryRun = new Map<string, string>();
  let beforeLedgers = new Map<string, string>();
  const lines = (ctx: WalkContext, name: string) => ctx.file(name).split('\n').filter(Boolean);
  /** Where each seeded job is now (unprefixed), as `key|queue field`. */
  const placeOf = async (jid: string) => {
    const places = (await jobPlaces(redis(), '')).get(jid) ?? [];
    expect(places, `job ${jid} exactly once`).toHaveLength(1);
    return `${places[0]!.key}|${queueField(places[0]!.payload)}`;
  };
  return {
    runbook: 'routing-change.md',
    fixture: 'routing-change',
    files: { 'all_queues.yml': 'test/fixtures/gitlab/all_queues.yml' },
    env: () => ({ RUNBOOK_REDIS_URL: url() }),
    redises: () => [redis()],
    steps: {
      'catalog-from-toolbox': { covers: 'not run: the fixture provides the CE catalog (test/fixtures/gitlab/all_queues.yml)' },
      socat: { covers: 'not run: the test Redis listens on TCP' },
      placeholders: {
        covers: 'REDIS, NS, CATALOG from test/fixtures/runbooks/routing-change/env.sh',
      },
      'prefix-check': {
        covers: "seeds the instance (unprefixed, live process) plus prefixed leftovers; the check names both prefixes' counts",
        before: async () => {
          seeded = await seedGitlabInstance(redis(), '', { heartbeatQueues: ['default', 'mailers', 'post_receive', 'email_receiver', 'cronjob:admin_email', 'removed_worker'] });
          leftovers = await seedGitlabInstance(redis(), 'resque:gitlab:', { small: true });
          // A Sidekiq killed before the namespace move (no shutdown): still a member, no heartbeat.
          await redis().sadd('resque:gitlab:processes', 'gitlab-sidekiq-old:4242:0a1b2c3d4e5f');
        },
        shows: ["prefix '': 1 live processes, 5 queues, schedule 2, retry 1, dead 1", "prefix 'resque:gitlab:': 0 live processes, 2 queues, schedule 1, retry 0, dead 0"],
      },
      'prefix-move': {
        covers: 'moves the prefixed leftovers to the unprefixed keys: each exactly once, bytes and scores unchanged, nothing left under the prefix',
        shows: ['DRY RUN', 'Complete: everything that could be moved was moved.'],
        after: async () => {
          const places = await jobPlaces(redis(), '');
          for (const job of leftovers) {
            const unprefixedKey = job.key.slice('resque:gitlab:'.length);
            expect(places.get(job.jid)).toEqual([{ key: unprefixedKey, payload: job.payload, ...(job.score ? { score: job.score } : {}) }]);
          }
          const stillPrefixed = [...(await jobPlaces(redis(), 'resque:gitlab:')).values()].flat().filter((p) => !p.key.includes('sidekiq-migrate:'));
          expect(stillPrefixed).toEqual([]);
        },
      },
      'prefix-move-ledgers': {
        covers:
          "after the drain check of resque:gitlab: says DRAINED, removes the move's ledgers (prints 0) and nothing else (a quarantine list of a queue named a:ledger:b stays); run again with a job in flight under resque:gitlab:, it prints the check, keeps the ledgers and touches nothing",
        before: async () => {
          expect(await redis().keys('sidekiq-migrate:*:ledger:*')).not.toEqual([]);
          await redis().rpush(QUARANTINE_LEDGER, QUARANTINED[0]!);
          beforeLedgers = await keyContents(redis());
        },
        shows: ['ledgers of the prefix move left: 0'],
        doesNotShow: ['Ledgers kept'],
        after: async (ctx) => {
          const rest = new Map([...beforeLedgers].filter(([key]) => !/^sidekiq-migrate:[^:]+:ledger:/.test(key) || key === QUARANTINE_LEDGER));
          expect(await keyContents(redis())).toEqual(rest);
          // A move interrupted since: a job in flight under the old prefix, and its ledger.
          const inflight = 'resque:gitlab:sidekiq-migrate:transfer-20261123-204512-dead:inflight:queue:post_receive';
          const ledger = 'sidekiq-migrate:transfer-20261123-204512-dead:ledger:queue:post_receive';
          await redis().rpush(inflight, QUARANTINED[1]!);
          await redis().hset(ledger, 'b0', '1');
          const kept = await keyContents(redis());
          const again = await ctx.shell(blocksOf('routing-change.md').find((b) => b.id === 'prefix-move-ledgers')!.code);
          expect(again.exitCode, again.stderr).toBe(0);
          expect(again.stdout).toContain('Ledgers kept: something of the move is still in flight or under resque:gitlab:.');
          expect(again.stdout).toContain('In flight from interrupted transfers');
          expect(again.stdout).not.toContain('ledgers of the prefix move left');
          expect(await keyContents(redis())).toEqual(kept);
          await redis().del(inflight, ledger, QUARANTINE_LEDGER);
        },
      },
      routes: { covers: 'the routes table and the queues processes must listen to', shows: ['Sidekiq processes must listen to:', 'high-urgency', 'default'] },
      'routes-strict': { covers: 'exit 0 on rules without risky queries' },
      match: { covers: 'lists the workers the query selects', shows: ['EmailReceiverWorker'] },
      'queue-lists': {
        covers: 'old, new and retired queue files: one queue per line, post_receive retired, default and high-urgency new',
        after: async (ctx) => {
          expect(lines(ctx, 'new-queues.txt')).toEqual(['default', 'high-urgency']);
          expect(lines(ctx, 'retired-queues.txt')).toEqual(expect.arrayContaining(['post_receive', 'email_receiver', 'cronjob:admin_email']));
          expect(lines(ctx, 'retired-queues.txt')).not.toContain('default');
        },
      },
      'dry-run': {
        covers: 'counts the mail and the removed worker as left in place, and writes nothing (every key byte for byte)',
        before: async () => {
          beforeDryRun = await keyContents(redis());
        },
        shows: ['DRY RUN', 'Left in place, no destination for their class: ActionMailer::MailDeliveryJob 1 · RemovedWorker 1', 'Dry run, nothing written: a run would move 11 job(s) and leave jobs behind: 2 left in place'],
        after: async () => {
          expect(await keyContents(redis())).toEqual(beforeDryRun);
        },
      },
      'dry-run-deployed': { covers: 'not run: needs the deployed stack (the local dry run above is the same state machine)' },
      'extra-queues': { covers: "lists the removed worker's queue, and only it", shows: ['removed_worker'], after: async (ctx) => expect(lines(ctx, 'extra-queues.txt')).toEqual(['removed_worker']) },
      'extra-queues-rename': {
        covers: "moves the removed worker's job to default, queue value rewritten, bytes otherwise unchanged",
        shows: ['Complete', 'Moved to: default 1'],
        after: async () => {
          const removed = seeded.find((j) => j.className === 'RemovedWorker')!;
          expect(await placeOf(removed.jid)).toBe('queue:default|default');
        },
      },
      'listen-list': {
        covers: 'one comma-separated line without spaces: old and new queues, default, mailers',
        after: async (ctx) => {
          const list = ctx.file('listen-queues.txt').trim();
          expect(list).not.toMatch(/\s/);
          expect(list.split(',')).toEqual(expect.arrayContaining(['post_receive', 'high-urgency', 'default', 'mailers', 'cronjob:admin_email']));
        },
      },
      'reconfigure-listen': {
        covers: 'simulated: the Sidekiq process restarts fetching listen-queues.txt (heartbeat)',
        simulate: async (ctx) => startSidekiq(redis(), '', 'gitlab-sidekiq-plain', ctx.file('listen-queues.txt').trim().split(',')),
      },
      'helm-current-values': { covers: 'not run: needs helm (Omnibus path simulated)' },
      'helm-upgrade-listen': { covers: 'not run: needs helm (Omnibus path simulated)' },
      'listeners-check': {
        covers: "exit 0, every queue with jobs has a listener; with an unparsable retry entry (as npm run demo seeds one), exit 3 naming it in retry as the runbook says, and exit 0 again once it is deleted by hand (ZREM)",
        shows: ['Sidekiq processes: 1 live'],
        doesNotShow: ['NONE', 'STUCK'],
        after: async (ctx) => {
          const garbage = '<html>502 Bad Gateway</html>';
          await redis().zadd('retry', '1795459345.0', garbage);
          const block = blocksOf('routing-change.md').find((b) => b.id === 'listeners-check')!.code;
          const stuck = await ctx.shell(block);
          expect(stuck.exitCode, stuck.stderr).toBe(3);
          expect(stuck.stdout).toContain('schedule or retry entries naming a queue nobody listens to: retry 1; 1 of them unparsable, naming no queue');
          expect(await redis().zrem('retry', garbage)).toBe(1);
          const again = await ctx.shell(block);
          expect(again.exitCode, again.stderr).toBe(0);
        },
      },
      'reconfigure-rules': {
        covers: 'simulated: producers push to the new queues (a new EmailReceiverWorker job on high-urgency); the cron definition keeps its old queue (a node with old rules booted last)',
        simulate: async () => {
          await redis().lpush('queue:high-urgency', '{"retry":true,"queue":"high-urgency","args":[7],"class":"EmailReceiverWorker","jid":"0000000000000000000000aa","created_at":1795459303.5}');
          // A definition saved without a message (class in klass): sidekiq-cron pushes to its queue field.
          await redis().sadd('cron_jobs', 'cron_job:admin_email_klass_worker');
          await redis().hset('cron_job:admin_email_klass_worker', { name: 'admin_email_klass_worker', klass: 'AdminEmailWorker', cron: '0 0 * * *', args: '[]', queue: 'cronjob:admin_email', status: 'enabled' });
        },
      },
      'helm-upgrade-rules': { covers: 'not run: needs helm (Omnibus path simulated)' },
      'cron-check': {
        covers: 'names the stale definitions, one saved without a message (its queue field); after the simulated restart the same check prints nothing',
        shows: ['stale: cron_job:admin_email_worker pushes to cronjob:admin_email', 'stale: cron_job:admin_email_klass_worker pushes to cronjob:admin_email'],
      },
      'restart-sidekiq': {
        covers: 'simulated: the restarted Sidekiq rewrites the definition with the new rules; then the cron check is run again and prints nothing',
        simulate: async (ctx) => {
          await redis().hset('cron_job:admin_email_worker', 'message', JSON.stringify({ retry: 3, queue: 'default', class: 'AdminEmailWorker', args: [] }));
          await redis().hset('cron_job:admin_email_klass_worker', 'queue', 'default');
          const again = await ctx.shell(blocksOf('routing-change.md').find((b) => b.id === 'cron-check')!.code);
          expect(again.exitCode, again.stderr).toBe(0);
          expect(again.stdout).toBe('');
        },
      },
      migrate: {
        covers: 'done with the mail left on mailers (not "Complete"), exit 0; every seeded job exactly once on its new queue (queued, schedule, retry, dead), the mail on mailers, the working list untouched',
        shows: ['Done, but jobs were left behind: 1 left in place', 'Left in place, no destination for their class: ActionMailer::MailDeliveryJob 1'],
        after: async () => {
          const expected: Record<string, string> = { PostReceive: 'default', EmailReceiverWorker: 'high-urgency', AdminEmailWorker: 'default', RemovedWorker: 'default' };
          for (const job of [...seeded, ...leftovers]) {
            const key = job.key.replace(/^resque:gitlab:/, '');
            const place = await placeOf(job.jid);
            if (job.className.startsWith('ActiveJob')) expect(place).toBe('queue:mailers|mailers');
            else if (key.startsWith('queue:')) expect(place).toBe(`queue:${expected[job.className]}|${expected[job.className]}`);
            else expect(place).toBe(`${key}|${expected[job.className]}`);
          }
          expect(await redis().llen('working:queue:post_receive:gitlab-sidekiq-0:4242')).toBe(1);
        },
      },
      'migrate-deployed': { covers: 'not run: needs the deployed stack' },
      'quarantine-put-back': {
        covers: 'three quarantined jobs (seeded as --unmapped quarantine leaves them) all go back, unchanged, to their queue, and the quarantine list is gone (prints 0)',
        before: async () => {
          await redis().rpush('sidekiq-migrate:quarantine:removed_worker', ...QUARANTINED);
        },
        shows: [/^0$/m],
        after: async () => {
          expect((await redis().lrange('queue:removed_worker', 0, -1)).sort()).toEqual([...QUARANTINED].sort());
          expect(await redis().exists('sidekiq-migrate:quarantine:removed_worker')).toBe(0);
        },
      },
      'quarantine-route': {
        covers: "the jobs put back are sent on by a rename to default, each once, only the queue value rewritten; nothing is left on the removed worker's queue",
        shows: ['Complete: everything that could be moved was moved.', 'Moved to: default 3'],
        after: async () => {
          expect(await redis().llen('queue:removed_worker')).toBe(0);
          const onDefault = await redis().lrange('queue:default', 0, -1);
          for (const payload of QUARANTINED) expect(onDefault.filter((p) => p === payload.replace('"queue":"removed_worker"', '"queue":"default"'))).toHaveLength(1);
        },
      },
      'drain-checks': {
        covers: "both say DRAINING, exit 0, and save their reports: the retired queues are empty, but a killed worker's job waits in its working list to come back on post_receive, and a live process is there to put it back",
        shows: [/DRAINING — 1 job\(s\) left of the \d+ retired queue\(s\) only \(jobs of other queues are not counted\)/, '1 job(s) sit in the private lists of workers that are gone (working:queue:post_receive:gitlab-sidekiq-0:4242 1)'],
        doesNotShow: ['STUCK', 'DRAINED'],
        after: async (ctx, result) => {
          // Both checks, not one of them.
          expect(result.stdout.match(/: DRAINING — 1 job\(s\) left of the \d+ retired queue\(s\) only/g)).toHaveLength(2);
          expect(ctx.file('check-1.json')).toContain('"remaining":1');
          expect(ctx.file('check-2.json')).toContain('"remaining":1');
        },
      },
      'new-listen-list': { covers: 'exactly default,high-urgency,mailers', shows: ['default,high-urgency,mailers'] },
      'reconfigure-new-queues': {
        covers: 'simulated: the Sidekiq process restarts fetching new-listen-queues.txt only',
        simulate: async (ctx) => startSidekiq(redis(), '', 'gitlab-sidekiq-plain', ctx.file('new-listen-queues.txt').trim().split(',')),
      },
      'helm-upgrade-new-queues': { covers: 'not run: needs helm (Omnibus path simulated)' },
      'final-check': { covers: 'exit 0: every job left has a listener (mail, moved jobs)', doesNotShow: ['NONE', 'STUCK'] },
      'stop-deployed': { covers: 'not run: needs the deployed stack (`stop` is tested in test/unit/cli/deployed-commands.test.ts)' },
      'resume-deployed': { covers: 'not run: needs the deployed stack (`start --resume` is tested in test/unit/cli/deployed-commands.test.ts)' },
    },
  };
}
