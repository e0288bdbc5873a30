// drain-check's queue table (and --json's queues[].listeners) counted a Sidekiq process not heard
// from for more than 3 beats (it may have been killed: its heartbeat hash lives 60 s after its last
// beat) as a listener like any other: a queue only such a process listens to read `1` in the
// listeners column while the verdict's line above said its jobs "wait on queues listened to only
// by Sidekiq processes not heard from". The column now says them apart, `0 (+1 silent)`, and
// --json gives queues[].silentListeners (of `listeners`, as cron definitions' silentListeners);
// the table keeps to 80 columns with GitLab's longest queue names. The heartbeats are written as a
// killed Sidekiq 6.4 process leaves them 40 s after its last beat (expiry 20 s away).
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateRedis();
const keys = new SidekiqKeys('');
const now = () => Date.now() / 1000;
const LONG = 'authorized_project_update:authorized_project_update_enqueue_group_members_refresh_authorized_projects';
const table = (stdout: string) => stdout.slice(stdout.indexOf('\nQueue ') + 1).split('\n\n')[0]!.split('\n');

describe("drain-check's queue table, listeners not heard from for several beats", { timeout: 60_000 }, () => {
  it('says them apart in the column (80 columns) and in --json (silentListeners), the verdict as before', async () => {
    const c = redis.client();
    const seed = async (queue: string, depth: number) => {
      await c.sadd('queues', queue);
      await c.rpush(`queue:${queue}`, ...Array.from({ length: depth }, (_, i) => sidekiqPayload({ className: 'A', queue, args: `[${i}]` })));
    };
    await seed('default', 2);
    await seed('mailers', 1);
    await seed('beating', 1);
    await seed(LONG, 3);
    await heartbeat(c, keys, 'web:1:aaaaaaaaaaaa', ['mailers', 'beating'], { beatAt: now() });
    for (const [identity, queues] of [
      ['gitlab-sidekiq-1:4242:0a1b2c3d4e5f', ['default', 'mailers']],
      ['gitlab-sidekiq-2:4242:0a1b2c3d4e5f', ['default', LONG]],
    ] as const) {
      await heartbeat(c, keys, identity, queues, { beatAt: now() - 40, beating: false });
      await c.pexpire(identity, 20_000);
    }

    const human = await runCli('drain-check', '--redis', redis.url());
    const json = await runCli('drain-check', '--redis', redis.url(), '--json');

    expect(human.code, human.stdout + human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^redis:\/\/\S+: DRAINING — 7 job\(s\) left\n {2}- 5 job\(s\) wait on queues listened to only by Sidekiq processes not heard from for (4\d|5\d) s \(they may have been killed\) \(authorized_project_update:authorized_project_update_enqueue_group_members_refresh_authorized_projects 3, default 2\)/);
    const lines = table(human.stdout);
    expect(lines).toEqual([
      'Queue                                             depth    oldest  listeners',
      'authorized_project_upd…sh_authorized_projects         3         -  0 (+1 silent)',
      'beating                                               1         -  1',
      'default                                               2         -  0 (+2 silent)',
      'mailers                                               1         -  1 (+1 silent)',
    ]);
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(80);

    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as { queues: unknown[]; orphans: { total: number }; heardOnlyBySilent: { jobs: number } };
    expect(report.orphans.total).toBe(0);
    expect(report.heardOnlyBySilent.jobs).toBe(5);
    expect(Object.fromEntries(report.queues.map((q) => [(q as { queue: string }).queue, q]))).toEqual({
      default: { queue: 'default', depth: 2, oldestAgeSeconds: null, listeners: 2, silentListeners: 2 },
      mailers: { queue: 'mailers', depth: 1, oldestAgeSeconds: null, listeners: 2, silentListeners: 1 },
      beating: { queue: 'beating', depth: 1, oldestAgeSeconds: null, listeners: 1 },
      [LONG]: { queue: LONG, depth: 3, oldestAgeSeconds: null, listeners: 1, silentListeners: 1 },
    });
  });
});
