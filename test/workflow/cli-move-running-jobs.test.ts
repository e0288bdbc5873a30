// A live Sidekiq with its own (basic) fetch still runs jobs of a moved queue on the old Redis at the
// final transfer (docs/runbooks/redis-move.md, steps 6/7). BRPOP took them off their queue: they are
// in no list, only the process's heartbeat (`IDENTITY:workers`) shows them, and they are not done
// (one that fails goes to `retry` on the old Redis). `move` said "Complete", exit 0, and nothing
// about them; only drain-check saw them. The summary names them and never says "Complete".
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { expectExactJobs, jobEntry, withQueue } from '../support/exact-jobs.js';
import { repoPath } from '../support/paths.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const cli = (...args: string[]) => spawnSync(process.execPath, [repoPath('bin/sidekiq-migrate.js'), ...args], { encoding: 'utf8', cwd: '/', env: { ...process.env, NO_COLOR: '1' } });

const IDENTITY = 'web-1:4242:0a1b2c3d4e5f';
const queued = sidekiqPayload({ className: 'A', queue: 'default', args: '[1]', jid: '000000000000000000000001' });
const running = [sidekiqPayload({ className: 'A', queue: 'default', args: '[2]', jid: '000000000000000000000002' }), sidekiqPayload({ className: 'B', queue: 'default', args: '[3]', jid: '000000000000000000000003' })];

/** A live process (beating now) on the source, its heartbeat naming `jobs` as run by its busy threads. */
async function liveProcess(jobs: readonly string[], queues = ['default']): Promise<void> {
  const c = redis.source();
  await heartbeat(c, keys, IDENTITY, queues, { beatAt: Date.now() / 1000, beating: false });
  for (const [i, payload] of jobs.entries()) {
    const queue = (JSON.parse(payload) as { queue: string }).queue;
    await c.hset(`${IDENTITY}:workers`, `tid${i}`, JSON.stringify({ queue, payload, run_at: Math.floor(Date.now() / 1000) }));
  }
  if (jobs.length > 0) await c.expire(`${IDENTITY}:workers`, 60);
}

async function seed(): Promise<void> {
  const c = redis.source();
  await c.sadd('queues', 'default');
  await c.rpush('queue:default', queued);
}

const NEEDS_A_LOOK = `\n2 job(s) taken from the source's queues are being run by live Sidekiq processes on the source (${IDENTITY} 2), in no list: one that fails goes to retry on the source naming its queue; one whose process is stopped (TERM) first goes back on its queue there; one whose process is killed (KILL, out of memory) is lost. drain-check tells when they are gone.\n`;
const VERDICT = `Done, but 2 job(s) are being run by live Sidekiq processes on the source (in no list): ${IDENTITY} 2; drain-check tells when they are gone (see "Needs a look" above).`;

describe('move while a live Sidekiq on the source runs jobs of its queues (basic fetch: in no list)', { timeout: 120_000 }, () => {
  it('names them under "Needs a look" and in the verdict, never "Complete"; the jobs stay where they were or moved once', async () => {
    await seed();
    await liveProcess(running);

    const result = cli('move', '--from', redis.urls().source, '--to', redis.urls().target);

    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(NEEDS_A_LOOK);
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe(VERDICT);
    // The running jobs are in no list: only the heartbeat names them, and the move did not touch it.
    await expectExactJobs(redis.source(), '', []);
    await expectExactJobs(redis.target(), '', [jobEntry('queue:default', queued)]);
    expect((await redis.source().hvals(`${IDENTITY}:workers`)).map((v) => (JSON.parse(v) as { payload: string }).payload).sort()).toEqual([...running].sort());
  });

  it('--json: the same in its state (heldByWorkers.running) and verdict', async () => {
    await seed();
    await liveProcess(running);

    const result = cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--json');

    expect(result.status, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({ heldByWorkers: { running: { jobs: 2, processes: [{ identity: IDENTITY, jobs: 2 }] } }, verdict: { state: 'done-but', line: VERDICT } });
    await expectExactJobs(redis.target(), '', [jobEntry('queue:default', queued)]);
  });

  it('--dry-run: its verdict says them as the run would, never "leave none behind" alone; nothing written', async () => {
    await seed();
    await liveProcess(running);

    const result = cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--dry-run');

    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(NEEDS_A_LOOK);
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe(
      `Dry run, nothing written: a run would move 1 job(s) and leave none behind on the queues and sets; 2 job(s) are being run by live Sidekiq processes on the source (in no list): ${IDENTITY} 2; drain-check tells when they are gone (see "Needs a look" above).`,
    );
    await expectExactJobs(redis.source(), '', [jobEntry('queue:default', queued)]);
    await expectExactJobs(redis.target(), '', []);
  });

  it('a live process running nothing: unchanged, "Complete"', async () => {
    await seed();
    await liveProcess([]);

    const result = cli('move', '--from', redis.urls().source, '--to', redis.urls().target);

    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).not.toContain('in no list');
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe('Complete: everything that could be moved was moved.');
    await expectExactJobs(redis.source(), '', []);
    await expectExactJobs(redis.target(), '', [jobEntry('queue:default', queued)]);
  });

  it('run --rename: a job a live process runs from the retired queue is named the same way, on this Redis', async () => {
    await seed();
    await liveProcess(running.slice(0, 1));

    const result = cli('run', '--redis', redis.urls().source, '--rename', 'default=new');

    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      `\n1 job(s) taken from retired queues are being run by live Sidekiq processes on this Redis (${IDENTITY} 1), in no list: one that fails goes to retry on this Redis naming its queue; one whose process is stopped (TERM) first goes back on its queue there; one whose process is killed (KILL, out of memory) is lost. drain-check tells when they are gone.\n`,
    );
    // The job moved to `new`, which no process fetches: said too (the "Complete" it replaces said so; it was dropped).
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe(
      `Done, but 1 job(s) are being run by live Sidekiq processes on this Redis (in no list): ${IDENTITY} 1; drain-check tells when they are gone; and 1 of the jobs moved went to queues nobody fetches from (see "Needs a look" above).`,
    );
    await expectExactJobs(redis.source(), '', [jobEntry('queue:new', withQueue(queued, 'default', 'new'))]);
  });
});

describe('move with more live Sidekiq processes on the source than a summary reads the heartbeats of', { timeout: 120_000 }, () => {
  it('says the processes it did not read, never "Complete"', async () => {
    await seed();
    const c = redis.source();
    const now = Date.now() / 1000;
    const pipeline = c.pipeline();
    for (let i = 0; i < 1_001; i++) {
      const identity = `web-${i}:1:0a1b2c3d4e5f`;
      pipeline.sadd('processes', identity);
      pipeline.hset(identity, 'info', JSON.stringify({ hostname: `web-${i}`, pid: 1, queues: ['default'], identity }), 'beat', String(now), 'quiet', 'false', 'busy', '0');
      pipeline.expire(identity, 60);
    }
    await pipeline.exec();

    const result = cli('move', '--from', redis.urls().source, '--to', redis.urls().target);

    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('\nThe heartbeats of 1 live Sidekiq process(es) on the source were not read (a summary reads 1,000 at most): jobs they run in no list are not counted; drain-check counts them.\n');
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe(
      'Done, but jobs may have been left behind: jobs run in no list by 1 live Sidekiq process(es) on the source not counted (their heartbeats not read) (see "Needs a look" above).',
    );
    await expectExactJobs(redis.source(), '', []);
    await expectExactJobs(redis.target(), '', [jobEntry('queue:default', queued)]);
  });
});
