// Jobs a worker took from a retired queue into its fetcher's private list (GitLab's reliable
// fetcher: working:queue:NAME:HOST:PID:NONCE) are never moved (docs/guarantees-and-limits.md).
// When that worker is gone, nobody runs them until a process of the same fetcher puts them back
// on the old queue: run and move said "Complete: everything that could be moved was moved" over
// them, while drain-check said STUCK. The summary names them and never says "Complete". A list
// whose worker is alive (being worked on) is named too, and the run ended "Complete" over it: but
// its jobs are not where the run puts them, and one whose worker dies goes back on the old queue
// (the fetcher's clean-up), as a job a live process runs in no list does (cli-move-running-jobs):
// one rule for both, "Done, but … being worked on by live Sidekiq processes …", exit code 0.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { expectExactJobs, jobEntry, withQueue } from '../support/exact-jobs.js';
import { repoPath } from '../support/paths.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
const cli = (...args: string[]) => spawnSync(process.execPath, [repoPath('bin/sidekiq-migrate.js'), ...args], { encoding: 'utf8', cwd: '/', env: { ...process.env, NO_COLOR: '1' } });

const WORKING = 'working:queue:old:gitlab-sidekiq-1:4242:0a1b2c3d4e5f';
const queued = sidekiqPayload({ className: 'A', queue: 'old', args: '[1]', jid: '000000000000000000000001' });
const taken = sidekiqPayload({ className: 'A', queue: 'old', args: '[2]', jid: '000000000000000000000002' });

/**
 * `queued` on queue old, and `taken` in the private list of the reliable fetcher of the process
 * HOST:PID (WORKING for the default); `alive`, the fetcher's heartbeat too. Returns the list's key.
 */
async function seed(alive: boolean, hostPid = 'gitlab-sidekiq-1:4242'): Promise<string> {
  // The reliable fetcher names its list and its heartbeat with a nonce of its own: the process's HOST:PID, another nonce.
  const [host, pid] = hostPid.split(':');
  const working = `working:queue:old:${host}:${pid}:0a1b2c3d4e5f`;
  const source = redis.source();
  await source.rpush('queue:old', queued);
  await source.sadd('queues', 'old');
  await source.rpush(working, taken);
  // The reliable fetcher's heartbeat (TTL 60 s): its worker is alive.
  if (alive) await source.set(`reliable-fetcher-heartbeat-${host}-${pid}-0a1b2c3d4e5f`, '1', 'EX', 60);
  return working;
}

/** The live Sidekiq process `identity` (its heartbeat) running `payloads` of queue old, a thread each (its workers hash). */
async function running(identity: string, ...payloads: string[]): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  await heartbeat(redis.source(), new SidekiqKeys(''), identity, ['old'], { beatAt: Date.now() / 1000, beating: false });
  await redis.source().hset(`${identity}:workers`, ...payloads.flatMap((payload, i) => [`tid${i}`, JSON.stringify({ queue: 'old', payload, run_at: now })]));
}

describe('jobs in a fetcher\'s private list of a retired queue at the end of a run', { timeout: 120_000 }, () => {
  it('run: a gone worker\'s list is named, never "Complete"; every job where it was or moved once', async () => {
    await seed(false);

    const result = cli('run', '--redis', redis.urls().source, '--rename', 'old=new');

    expect(result.status).toBe(0);
    expect(result.stdout).toContain(
      `\n1 job(s) taken from retired queues by workers that are gone, in their fetchers' private lists (${WORKING} 1): nobody runs them until a process of the same fetcher puts them back on their old queue on this Redis; then run again (drain-check counts them).\n`,
    );
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs were left behind: 1 in private lists of gone workers (see "Needs a look" above).');
    await expectExactJobs(redis.source(), '', [jobEntry(WORKING, taken), jobEntry('queue:new', withQueue(queued, 'old', 'new'))]);
  });

  it('move: the same on the old Redis', async () => {
    await seed(false);

    const result = cli('move', '--from', redis.urls().source, '--to', redis.urls().target);

    expect(result.status).toBe(0);
    expect(result.stdout).toContain(
      `\n1 job(s) taken from the source's queues by workers that are gone, in their fetchers' private lists (${WORKING} 1): nobody runs them until a process of the same fetcher puts them back on their old queue on the source; then run again (drain-check counts them).\n`,
    );
    // A transfer retires no queue: its summary never says so.
    expect(result.stdout).not.toContain('retired');
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs were left behind: 1 in private lists of gone workers (see "Needs a look" above).');
    await expectExactJobs(redis.source(), '', [jobEntry(WORKING, taken)]);
    await expectExactJobs(redis.target(), '', [jobEntry('queue:old', queued)]);
  });

  it('move --classes: a selected job in a gone worker\'s list is named (not "no job of the selected classes was on the source"); other classes\' jobs there are not', async () => {
    await seed(false);
    const other = sidekiqPayload({ className: 'B', queue: 'old', args: '[3]', jid: '000000000000000000000003' });
    const otherList = 'working:queue:old:gitlab-sidekiq-2:4343:0a1b2c3d4e5f';
    await redis.source().rpush(otherList, other);
    // The queued job is of B too: the selection finds none of its jobs on the queues or sets.
    await redis.source().del('queue:old');
    await redis.source().rpush('queue:old', other.replace('[3]', '[4]'));

    const result = cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--classes', 'A');

    expect(result.status).toBe(0);
    expect(result.stdout).toContain(
      `\n1 job(s) of the selected classes taken from the source's queues by workers that are gone, in their fetchers' private lists (${WORKING} 1): nobody runs them until a process of the same fetcher puts them back on their old queue on the source; then run again (drain-check counts them).\n`,
    );
    expect(result.stdout).not.toContain('retired');
    expect(result.stdout).not.toContain(otherList);
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs were left behind: 1 in private lists of gone workers (see "Needs a look" above).');
    await expectExactJobs(redis.source(), '', [jobEntry(WORKING, taken), jobEntry(otherList, other), jobEntry('queue:old', other.replace('[3]', '[4]'))]);
    await expectExactJobs(redis.target(), '', []);
  });

  it('move --classes (the shard runbook\'s step 4 run again): a selected job a live worker holds is named, and the verdict does not say none was on the source', async () => {
    await seed(true);
    await redis.source().del('queue:old');
    const other = sidekiqPayload({ className: 'B', queue: 'old', args: '[3]', jid: '000000000000000000000003' });
    await redis.source().rpush('queue:old', other);

    const result = cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--classes', 'A');

    expect(result.status).toBe(0);
    expect(result.stdout).toContain(
      `\n1 job(s) of the selected classes taken from the source's queues are being worked on (${WORKING} 1): one that fails goes to retry, one whose worker dies back on its old queue, both on the source; run again after the last restart (drain-check counts them).\n`,
    );
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe(
      `Done, but 1 job(s) are being worked on by live Sidekiq processes on the source (in their fetchers' private lists): ${WORKING} 1; drain-check tells when they are gone (see "Needs a look" above). No other job of the selected classes was on the source's queues or sets; nothing was moved.`,
    );
    await expectExactJobs(redis.source(), '', [jobEntry(WORKING, taken), jobEntry('queue:old', other)]);
    await expectExactJobs(redis.target(), '', []);
  });

  it('run: a live worker\'s list is being worked on: named, and the run is "Done, but", never "Complete"', async () => {
    await seed(true);

    const result = cli('run', '--redis', redis.urls().source, '--rename', 'old=new');

    expect(result.status).toBe(0);
    expect(result.stdout).toContain(
      `\n1 job(s) taken from retired queues are being worked on (${WORKING} 1): one that fails goes to retry, one whose worker dies back on its old queue; run again after the last restart (drain-check counts them).\n`,
    );
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe(
      `Done, but 1 job(s) are being worked on by live Sidekiq processes on this Redis (in their fetchers' private lists): ${WORKING} 1; drain-check tells when they are gone (see "Needs a look" above).`,
    );
    await expectExactJobs(redis.source(), '', [jobEntry(WORKING, taken), jobEntry('queue:new', withQueue(queued, 'old', 'new'))]);
  });

  it('move: a live worker\'s list on the old Redis is being worked on there, said without "retired queues" (a transfer retires none)', async () => {
    await seed(true);

    const result = cli('move', '--from', redis.urls().source, '--to', redis.urls().target);

    expect(result.status).toBe(0);
    expect(result.stdout).toContain(
      `\n1 job(s) taken from the source's queues are being worked on (${WORKING} 1): one that fails goes to retry, one whose worker dies back on its old queue, both on the source; run again after the last restart (drain-check counts them).\n`,
    );
    expect(result.stdout).not.toContain('retired');
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe(LIVE_MOVE_VERDICT);
    await expectExactJobs(redis.source(), '', [jobEntry(WORKING, taken)]);
    await expectExactJobs(redis.target(), '', [jobEntry('queue:old', queued)]);
  });

  it('move --json: the same verdict, state "done-but", exit code 0; heldByWorkers.working counts the job', async () => {
    await seed(true);

    const result = cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--json');

    expect(result.status, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({ complete: true, heldByWorkers: { working: 1, abandoned: 0, workingLists: [{ key: WORKING, size: 1 }] }, verdict: { state: 'done-but', line: LIVE_MOVE_VERDICT } });
    await expectExactJobs(redis.source(), '', [jobEntry(WORKING, taken)]);
    await expectExactJobs(redis.target(), '', [jobEntry('queue:old', queued)]);
  });

  it('move: a live worker\'s list and a live process running jobs in no list: one verdict names both (the list\'s job, in its heartbeat too, counted once)', async () => {
    await seed(true);
    const inNoList = sidekiqPayload({ className: 'A', queue: 'old', args: '[5]', jid: '000000000000000000000005' });
    // GitLab's reliable fetcher: the heartbeat of the process names the job of its private list too.
    const identity = 'gitlab-sidekiq-1:4242:0a1b2c3d4e5f';
    await running(identity, taken, inNoList);

    const result = cli('move', '--from', redis.urls().source, '--to', redis.urls().target);

    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe(
      `Done, but 1 job(s) are being worked on by live Sidekiq processes on the source (in their fetchers' private lists): ${WORKING} 1; 1 job(s) are being run by live Sidekiq processes on the source (in no list): ${identity} 1; drain-check tells when they are gone (see "Needs a look" above).`,
    );
    await expectExactJobs(redis.source(), '', [jobEntry(WORKING, taken)]);
    await expectExactJobs(redis.target(), '', [jobEntry('queue:old', queued)]);
  });

  // Both ways round: which process the census reads first is SMEMBERS order.
  it.each([
    ['gitlab-sidekiq-1:4242:9f8e7d6c5b4a', 'gitlab-sidekiq-2:5151:1a2b3c4d5e6f'],
    ['gitlab-sidekiq-2:5151:1a2b3c4d5e6f', 'gitlab-sidekiq-1:4242:9f8e7d6c5b4a'],
  ])('move and drain-check: the job in no list is named with the basic-fetch process that runs it, not with the reliable-fetch process whose list holds its own jobs (reliable %s, basic %s)', async (reliable, basic) => {
    // Seen walking docs/runbooks/redis-move.md with real Sidekiq 6.4: a reliable-fetch process and a
    // basic-fetch one on the old Redis, each busy. The count was right (2 in the list, 1 in no list),
    // but the job in no list was named with the reliable-fetch process, whose every job is in its
    // list, and the basic-fetch process (the one whose kill loses its job) was named nowhere.
    const working = await seed(true, reliable.split(':').slice(0, 2).join(':'));
    const inNoList = sidekiqPayload({ className: 'A', queue: 'old', args: '[5]', jid: '000000000000000000000005' });
    await running(reliable, taken);
    await running(basic, inNoList);

    const check = cli('drain-check', '--redis', redis.urls().source, '--time-limit', '1');
    expect(check.stdout).toContain(`1 job(s) taken from this Redis's queues are being run by live Sidekiq processes (${basic} 1), in no list`);

    const result = cli('move', '--from', redis.urls().source, '--to', redis.urls().target);

    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe(
      `Done, but 1 job(s) are being worked on by live Sidekiq processes on the source (in their fetchers' private lists): ${working} 1; 1 job(s) are being run by live Sidekiq processes on the source (in no list): ${basic} 1; drain-check tells when they are gone (see "Needs a look" above).`,
    );
    await expectExactJobs(redis.source(), '', [jobEntry(working, taken)]);
    await expectExactJobs(redis.target(), '', [jobEntry('queue:old', queued)]);
  });

  // Both ways round again (SMEMBERS order decides which process is read first).
  it.each([
    ['gitlab-sidekiq-1:4242:9f8e7d6c5b4a', 'gitlab-sidekiq-2:5151:1a2b3c4d5e6f'],
    ['gitlab-sidekiq-2:5151:1a2b3c4d5e6f', 'gitlab-sidekiq-1:4242:9f8e7d6c5b4a'],
  ])('drain-check: a reliable-fetch process whose heartbeat does not name its list\'s job yet takes nothing off the basic-fetch process\'s job in no list (reliable %s, basic %s)', async (reliable, basic) => {
    // Seen walking docs/runbooks/redis-move.md with real Sidekiq 6.4 whose old processes are killed
    // (test/compat/real-sidekiq-redis-move-runbook-killed.test.ts): the reliable fetcher had taken
    // J1 into its private list, but its process's heartbeat (rewritten every 5 s) named no job yet;
    // the basic-fetch process ran J2, named only in its heartbeat. The list's job, matched to no
    // process with a busy thread, came off the basic process's count: "1 job(s) left" for 2, and
    // the basic process (whose kill loses J2) named nowhere.
    const [host, pid, nonce] = reliable.split(':');
    const source = redis.source();
    const working = `working:queue:old:${host}:${pid}:${nonce}`;
    const inNoList = sidekiqPayload({ className: 'A', queue: 'old', args: '[5]', jid: '000000000000000000000005' });
    await source.rpush(working, taken);
    await source.set(`reliable-fetcher-heartbeat-${host}-${pid}-${nonce}`, '1', 'EX', 60);
    // R beats, busy threads not written yet (no IDENTITY:workers hash at all).
    await heartbeat(source, new SidekiqKeys(''), reliable, ['old'], { beatAt: Date.now() / 1000, beating: false });
    await running(basic, inNoList);

    const check = cli('drain-check', '--redis', redis.urls().source, '--time-limit', '1');

    // DRAINING: live processes work on what is left (exit 0, as every draining check).
    expect(check.status, check.stderr).toBe(0);
    expect(check.stdout.split('\n')[0]).toBe(`${redis.urls().source}: DRAINING — 2 job(s) left`);
    expect(check.stdout).toContain(`1 job(s) taken from this Redis's queues are being run by live Sidekiq processes (${basic} 1), in no list`);
    expect(check.stdout).not.toContain(`(${reliable} `);
    await expectExactJobs(source, '', [jobEntry(working, taken)]);
  });

  it('drain-check: a live list whose owner is none of the live processes (HOST:PID matches none) still comes off the count of the process whose heartbeat names its job: 1 job(s) left, none said in no list', async () => {
    // The fetcher beats, but its list's owner names no process of the census (a hostname the
    // process's identity does not use): its job is in some heartbeat, which one is not known.
    const working = 'working:queue:old:gitlab-sidekiq-9:9999:0a1b2c3d4e5f';
    const source = redis.source();
    await source.rpush(working, taken);
    await source.set('reliable-fetcher-heartbeat-gitlab-sidekiq-9-9999-0a1b2c3d4e5f', '1', 'EX', 60);
    const basic = 'gitlab-sidekiq-2:5151:1a2b3c4d5e6f';
    await running(basic, taken);

    const check = cli('drain-check', '--redis', redis.urls().source, '--time-limit', '1');

    expect(check.status, check.stderr).toBe(0);
    expect(check.stdout.split('\n')[0]).toBe(`${redis.urls().source}: DRAINING — 1 job(s) left`);
    expect(check.stdout).not.toContain('in no list');
    await expectExactJobs(source, '', [jobEntry(working, taken)]);
  });

  it('move: a live worker\'s list and a job left in place: "Done, but jobs were left behind", and the list named after it', async () => {
    await seed(true);
    // A conflict: the same bytes already in the target's retry set stay on the source.
    const retry = sidekiqPayload({ className: 'A', queue: 'old', args: '[6]', jid: '000000000000000000000006' });
    await redis.source().zadd('retry', '1700000000', retry);
    await redis.target().zadd('retry', '1700000000', retry);

    const result = cli('move', '--from', redis.urls().source, '--to', redis.urls().target);

    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe(
      `Done, but jobs were left behind: 1 left in place (see "Needs a look" above). Also 1 job(s) are being worked on by live Sidekiq processes on the source (in their fetchers' private lists): ${WORKING} 1; drain-check tells when they are gone.`,
    );
    await expectExactJobs(redis.source(), '', [jobEntry(WORKING, taken), jobEntry('retry', retry, '1700000000')]);
    await expectExactJobs(redis.target(), '', [jobEntry('queue:old', queued), jobEntry('retry', retry, '1700000000')]);
  });
});

const LIVE_MOVE_VERDICT = `Done, but 1 job(s) are being worked on by live Sidekiq processes on the source (in their fetchers' private lists): ${WORKING} 1; drain-check tells when they are gone (see "Needs a look" above).`;
