// A SIGKILLed Sidekiq process's heartbeat hash lives 60 s after its last beat, and a summary counts
// it live until then. drain-check learned to say such a process (not heard from for more than 3
// beats) apart: "not heard from for N s (a live Sidekiq process beats every 5 s): it may have been
// killed" (cli-drain-check-not-heard-from). The `run` and `move` summaries still said its private
// list's jobs "are being worked on by live Sidekiq processes", and the job its basic fetch ran
// "being run by live Sidekiq processes", while nobody works on either. They now say it in the
// drain check's terms, under "Needs a look" and in the verdict (still "Done, but", never
// "Complete"; exit code 0), and --json adds heldByWorkers.silentWorking and .notHeardFrom. Time is
// not waited for: the heartbeats are written as a killed process leaves them 20 s after its last
// beat (`beat` 20 s old; the hash's expiry 38 s away, past what a run under load takes).
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

const RELIABLE = 'gitlab-sidekiq-1:4242:0a1b2c3d4e5f';
const BASIC = 'gitlab-sidekiq-2:5151:aa11bb22cc33';
const LIVE = 'gitlab-sidekiq-3:6161:dd44ee55ff66';
// GitLab's reliable fetcher names its list with a nonce of its own: the process's HOST:PID, another nonce.
const WORKING = 'working:queue:old:gitlab-sidekiq-1:4242:99aa88bb77cc';
const queued = sidekiqPayload({ className: 'A', queue: 'old', args: '[1]', jid: '000000000000000000000001' });
const held = sidekiqPayload({ className: 'A', queue: 'old', args: '[2]', jid: '000000000000000000000002' });
const lost = sidekiqPayload({ className: 'A', queue: 'old', args: '[3]', jid: '000000000000000000000003' });
const runs = sidekiqPayload({ className: 'A', queue: 'old', args: '[4]', jid: '000000000000000000000004' });

const SILENT_FOR = 20;

/** A Sidekiq 6.4 process's heartbeat as a killed one leaves it SILENT_FOR s after its last beat (`beatAt`), running `payload` on one thread. */
async function silentProcess(identity: string, beatAt: number, payload: string): Promise<void> {
  const c = redis.source();
  const info = JSON.stringify({ hostname: identity.split(':')[0], started_at: beatAt - 100, pid: Number(identity.split(':')[1]), tag: '', concurrency: 1, queues: ['old'], labels: [], identity });
  await c.sadd('processes', identity);
  await c.hset(identity, 'info', info, 'beat', String(beatAt), 'quiet', 'false', 'busy', '1');
  await c.expire(identity, 38);
  await c.hset(`${identity}:workers`, 'tid1', JSON.stringify({ queue: 'old', payload, run_at: Math.floor(beatAt) - 1 }));
  await c.expire(`${identity}:workers`, 38);
}

/**
 * queue old holding `queued`; RELIABLE's private list holding `held` (its fetcher heartbeat there),
 * RELIABLE and BASIC (running `lost` in no list) not heard from for SILENT_FOR s, and `live`: LIVE
 * beating, running `runs` in no list.
 */
async function seed(live: boolean): Promise<void> {
  const c = redis.source();
  await c.sadd('queues', 'old');
  await c.rpush('queue:old', queued);
  await c.rpush(WORKING, held);
  await c.set('reliable-fetcher-heartbeat-gitlab-sidekiq-1-4242-99aa88bb77cc', '1', 'EX', 60);
  const beatAt = Date.now() / 1000 - SILENT_FOR;
  // The reliable fetcher's process runs its list's job: its heartbeat names it too (counted once).
  await silentProcess(RELIABLE, beatAt, held);
  await silentProcess(BASIC, beatAt, lost);
  if (live) {
    await heartbeat(c, new SidekiqKeys(''), LIVE, ['old'], { beatAt: Date.now() / 1000 });
    await c.hset(`${LIVE}:workers`, 'tid1', JSON.stringify({ queue: 'old', payload: runs, run_at: Math.floor(Date.now() / 1000) }));
  }
}

/** The N of `not heard from for N s` said of `identity`, checked against the test's own clock (SILENT_FOR s, plus what passed since `from`). */
function silence(out: string, identity: string, from: number): number {
  const said = Number(new RegExp(`Sidekiq process ${identity} on (?:the source|this Redis) not heard from for (\\d+) s `).exec(out)?.[1]);
  expect(said, out).toBeGreaterThanOrEqual(SILENT_FOR);
  expect(said, out).toBeLessThanOrEqual(SILENT_FOR + Math.ceil((Date.now() - from) / 1000));
  return said;
}

const reliableLine = (where: string, n: number) =>
  `\nSidekiq process ${RELIABLE} on ${where} not heard from for ${n} s (a live Sidekiq process beats every 5 s): it may have been killed. It holds 1 job(s) in its fetcher's private list ${WORKING}, which go back to their queue on ${where} only when a live process with the same fetcher returns them (GitLab's reliable fetcher within the hour, once this one's fetcher heartbeat has expired): see docs/runbooks/redis-move.md, step 6.1; drain-check counts them.\n`;
const basicLine = (where: string, n: number) =>
  `\nSidekiq process ${BASIC} on ${where} not heard from for ${n} s (a live Sidekiq process beats every 5 s): it may have been killed. It holds 1 job(s) it was running in no list, lost if it was killed (Sidekiq's own fetch keeps them nowhere else); its heartbeat names them (\`${BASIC}:workers\`, \`:work\` from Sidekiq 6.5) until it expires, 60 s after its last beat: see docs/runbooks/redis-move.md, step 6.1; drain-check counts them.\n`;
const silentClause = (where: string, r: number, b: number) =>
  `2 job(s) are held by Sidekiq processes on ${where} not heard from for more than 3 beats, which may have been killed: ${RELIABLE} 1 (not heard from for ${r} s) · ${BASIC} 1 (not heard from for ${b} s)`;

describe('run and move summaries and Sidekiq processes not heard from for several beats (killed, their heartbeat not yet expired)', { timeout: 120_000 }, () => {
  it('move: names each with what it holds, the live process as before; never "being worked on" over them; "Done, but", exit 0; jobs where they were or moved once', async () => {
    const from = Date.now();
    await seed(true);

    const result = cli('move', '--from', redis.urls().source, '--to', redis.urls().target);

    const out = result.stdout;
    expect(result.status, `${out}${result.stderr}`).toBe(0);
    const [r, b] = [silence(out, RELIABLE, from), silence(out, BASIC, from)];
    expect(out).toContain(reliableLine('the source', r));
    expect(out).toContain(basicLine('the source', b));
    expect(out).toContain(
      `\n1 job(s) taken from the source's queues are being run by live Sidekiq processes on the source (${LIVE} 1), in no list: one that fails goes to retry on the source naming its queue; one whose process is stopped (TERM) first goes back on its queue there; one whose process is killed (KILL, out of memory) is lost. drain-check tells when they are gone.\n`,
    );
    expect(out).not.toContain('being worked on');
    expect(out).not.toContain(`(${BASIC} 1)`);
    expect(out).not.toContain(`${RELIABLE} 1)`);
    expect(out).not.toContain('Complete');
    expect(out.trimEnd().split('\n').at(-1)).toBe(
      `Done, but 1 job(s) are being run by live Sidekiq processes on the source (in no list): ${LIVE} 1; ${silentClause('the source', r, b)}; drain-check tells when they are gone (see "Needs a look" above).`,
    );
    await expectExactJobs(redis.source(), '', [jobEntry(WORKING, held)]);
    await expectExactJobs(redis.target(), '', [jobEntry('queue:old', queued)]);
  });

  it('move --json: heldByWorkers keeps its counts and adds silentWorking and notHeardFrom; the verdict as said', async () => {
    const from = Date.now();
    await seed(false);

    const result = cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--json');

    expect(result.status, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as {
      heldByWorkers: { working: number; silentWorking: number; workingLists: { key: string; size: number; ownerSilentSeconds?: number }[]; running: { jobs: number; silentJobs: number }; notHeardFrom: { identity: string; silentSeconds: number; beatEverySeconds: number; lists: unknown[]; inLists: number; running: number }[] };
      verdict: { state: string; line: string };
    };
    const passed = (Date.now() - from) / 1000;
    const workers = summary.heldByWorkers;
    expect(workers).toMatchObject({ working: 1, silentWorking: 1, abandoned: 0, running: { jobs: 1, silentJobs: 1 } });
    expect(workers.workingLists).toEqual([{ key: WORKING, size: 1, ownerSilentSeconds: expect.any(Number) }]);
    expect(workers.notHeardFrom.map(({ silentSeconds, ...p }) => ({ ...p, silentSeconds: silentSeconds >= SILENT_FOR && silentSeconds <= SILENT_FOR + passed }))).toEqual([
      { identity: RELIABLE, beatEverySeconds: 5, lists: [{ key: WORKING, size: 1 }], inLists: 1, running: 0, silentSeconds: true },
      { identity: BASIC, beatEverySeconds: 5, lists: [], inLists: 0, running: 1, silentSeconds: true },
    ]);
    const [r, b] = workers.notHeardFrom.map((p) => Math.round(p.silentSeconds));
    expect(summary.verdict).toEqual({ state: 'done-but', line: `Done, but ${silentClause('the source', r!, b!)}; drain-check tells when they are gone (see "Needs a look" above).` });
    await expectExactJobs(redis.source(), '', [jobEntry(WORKING, held)]);
    await expectExactJobs(redis.target(), '', [jobEntry('queue:old', queued)]);
  });

  it('run --rename: the same on this Redis, never "Complete"', async () => {
    const from = Date.now();
    await seed(false);

    const result = cli('run', '--redis', redis.urls().source, '--rename', 'old=new');

    const out = result.stdout;
    expect(result.status, `${out}${result.stderr}`).toBe(0);
    const [r, b] = [silence(out, RELIABLE, from), silence(out, BASIC, from)];
    expect(out).toContain(reliableLine('this Redis', r));
    expect(out).toContain(basicLine('this Redis', b));
    expect(out).not.toContain('being worked on');
    expect(out).not.toContain('being run by live');
    expect(out.trimEnd().split('\n').at(-1)).toBe(`Done, but ${silentClause('this Redis', r, b)}; drain-check tells when they are gone; and 1 of the jobs moved went to queues nobody fetches from (see "Needs a look" above).`);
    await expectExactJobs(redis.source(), '', [jobEntry(WORKING, held), jobEntry('queue:new', withQueue(queued, 'old', 'new'))]);
  });
});

// The summary names the first 10 silent processes that hold jobs (notHeardFrom), and took the jobs
// of every silent one out of "being worked on": the others' jobs were said nowhere under "Needs a
// look" (drain-check says them in one line since fed2836e; the summary now does too).
describe('a summary with more Sidekiq processes not heard from than it names', { timeout: 120_000 }, () => {
  const ids = Array.from({ length: 12 }, (_, i) => `sk-${String(i + 1).padStart(2, '0')}:${100 + i}:0a1b2c3d4e5f`);
  const list = (id: string) => `working:queue:old:${id}`;
  const payload = (i: number) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${10 + i}]`, jid: `0000000000000000000001${String(i).padStart(2, '0')}` });

  it('move: says the jobs of those past the first 10 in one line, as drain-check does; "Done, but", exit 0', async () => {
    const c = redis.source();
    await c.sadd('queues', 'old');
    await c.rpush('queue:old', queued);
    const beatAt = Date.now() / 1000 - SILENT_FOR;
    for (const [i, id] of ids.entries()) {
      await c.rpush(list(id), payload(i));
      await c.set(`reliable-fetcher-heartbeat-${id.replaceAll(':', '-')}`, '1', 'EX', 60);
      await silentProcess(id, beatAt, payload(i));
    }

    const result = cli('move', '--from', redis.urls().source, '--to', redis.urls().target);

    const out = result.stdout;
    expect(result.status, `${out}${result.stderr}`).toBe(0);
    for (const id of ids.slice(0, 10)) expect(out).toContain(`\nSidekiq process ${id} on the source not heard from for `);
    for (const id of ids.slice(10)) expect(out).not.toContain(`Sidekiq process ${id} on the source not heard from for `);
    expect(out).toContain(
      '\n2 more job(s) are held by other Sidekiq processes on the source not heard from for more than 3 beats (the first 10 are named above): they may have been killed; see docs/runbooks/redis-move.md, step 6.1; drain-check counts them.\n',
    );
    expect(out).not.toContain('being worked on');
    expect(out.trimEnd().split('\n').at(-1)).toMatch(/^Done, but 12 job\(s\) are held by Sidekiq processes on the source not heard from for more than 3 beats, which may have been killed: sk-01:100:0a1b2c3d4e5f 1 \(not heard from for \d+ s\) · .* · …; drain-check tells when they are gone \(see "Needs a look" above\)\.$/);
    await expectExactJobs(redis.source(), '', ids.map((id, i) => jobEntry(list(id), payload(i))));
    await expectExactJobs(redis.target(), '', [jobEntry('queue:old', queued)]);
  });
});

// The deployed summary is a Step Functions state (256 KiB): notHeardFrom named each of its 10
// processes' first 10 lists, 100 keys (59 KB with 512-byte queue names, bench/README.md
// audit-review2), repeating what workingLists names. Now 10 lists in all, and each process's
// largest list past them: 19 at most; inLists still counts every job, and the words say the rest.
describe('a summary naming the lists of Sidekiq processes not heard from', { timeout: 120_000 }, () => {
  const ids = Array.from({ length: 10 }, (_, i) => `sk-${String(i + 1).padStart(2, '0')}:${100 + i}:0a1b2c3d4e5f`);
  const queues = ['a', 'b'];
  const payload = (i: number, q: string) => sidekiqPayload({ className: 'A', queue: q, args: `[${10 + i}]`, jid: `0000000000000000000001${String(i).padStart(2, '0')}` });

  it('move --json: ten of their lists in all, and each process its largest one; inLists counts all; the words say the rest', async () => {
    const c = redis.source();
    await c.sadd('queues', 'old');
    await c.rpush('queue:old', queued);
    const beatAt = Date.now() / 1000 - SILENT_FOR;
    for (const [i, id] of ids.entries()) {
      for (const q of queues) await c.rpush(`working:queue:${q}:${id}`, payload(i, q));
      await c.set(`reliable-fetcher-heartbeat-${id.replaceAll(':', '-')}`, '1', 'EX', 60);
      await silentProcess(id, beatAt, payload(i, 'a'));
    }

    const json = cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--json');

    expect(json.status, json.stderr).toBe(0);
    const workers = (JSON.parse(json.stdout) as { heldByWorkers: { working: number; silentWorking: number; notHeardFrom: { identity: string; lists: { key: string }[]; inLists: number }[] } }).heldByWorkers;
    expect(workers).toMatchObject({ working: 20, silentWorking: 20 });
    expect(workers.notHeardFrom.map((p) => [p.identity, p.lists.map((l) => l.key), p.inLists])).toEqual(
      ids.map((id, i) => [id, (i < 5 ? queues : ['a']).map((q) => `working:queue:${q}:${id}`), 2]),
    );
    await expectExactJobs(redis.source(), '', ids.flatMap((id, i) => queues.map((q) => jobEntry(`working:queue:${q}:${id}`, payload(i, q)))));
    await expectExactJobs(redis.target(), '', [jobEntry('queue:old', queued)]);
  });

  it('move: a process whose lists are not all named says the jobs in the others', async () => {
    const c = redis.source();
    await c.sadd('queues', 'old');
    await c.rpush('queue:old', queued);
    const beatAt = Date.now() / 1000 - SILENT_FOR;
    for (const [i, id] of ids.entries()) {
      for (const q of queues) await c.rpush(`working:queue:${q}:${id}`, payload(i, q));
      await c.set(`reliable-fetcher-heartbeat-${id.replaceAll(':', '-')}`, '1', 'EX', 60);
      await silentProcess(id, beatAt, payload(i, 'a'));
    }

    const result = cli('move', '--from', redis.urls().source, '--to', redis.urls().target);

    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(`\\nSidekiq process sk-06:105:0a1b2c3d4e5f on the source not heard from for \\d+ s \\(a live Sidekiq process beats every 5 s\\): it may have been killed\\. It holds 1 job\\(s\\) in its fetcher's private list working:queue:a:sk-06:105:0a1b2c3d4e5f, and 1 job\\(s\\) in more of its lists, which go back`),
    );
    expect(result.stdout).not.toContain('more job(s) are held by other');
    await expectExactJobs(redis.target(), '', [jobEntry('queue:old', queued)]);
  });
});
