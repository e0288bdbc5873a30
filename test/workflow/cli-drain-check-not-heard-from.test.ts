// A SIGKILLed Sidekiq process's heartbeat hash lives 60 s after its last beat (Sidekiq 6.4 beats
// every 5 s: launcher.rb, BEAT_PAUSE), and the drain check counted it live until then: its
// reliable-fetch private list was "being worked on by live processes", and the job its basic fetch
// ran "being run by live Sidekiq processes", while nobody worked on either (seen with real Sidekiq:
// test/compat/real-sidekiq-redis-move-runbook-killed.test.ts). A process whose last beat is more
// than 3 beats old is now said "not heard from for N s (…): it may have been killed", with what it
// holds and the runbook's step; the words for a process that beats are unchanged, and the verdict
// is not DRAINED. Time is not waited for: the heartbeats are written as a killed process leaves
// them 40 s after its last beat (`beat` 40 s old, the hash's expiry 20 s away).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoPath } from '../support/paths.js';
import { privateRedis } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateRedis();
const cli = (...args: string[]) => spawnSync(process.execPath, [repoPath('bin/sidekiq-migrate.js'), ...args], { encoding: 'utf8', cwd: '/', env: { ...process.env, NO_COLOR: '1' } });

const RELIABLE = 'gitlab-sidekiq-1:4242:0a1b2c3d4e5f';
const BASIC = 'gitlab-sidekiq-2:5151:aa11bb22cc33';
const LIVE = 'gitlab-sidekiq-3:6161:dd44ee55ff66';
// GitLab's reliable fetcher names its list with a nonce of its own: the process's HOST:PID, another nonce.
const WORKING = 'working:queue:default:gitlab-sidekiq-1:4242:99aa88bb77cc';
const held = sidekiqPayload({ className: 'A', queue: 'default', jid: '000000000000000000000001' });
const lost = sidekiqPayload({ className: 'A', queue: 'default', jid: '000000000000000000000002' });
const runs = sidekiqPayload({ className: 'A', queue: 'default', jid: '000000000000000000000003' });

/**
 * A Sidekiq 6.4 process's heartbeat as it stands `silentFor` seconds after its last beat: `beat`
 * that old, the hash and its `:workers` (one thread running `payload`) expiring 60 s after it.
 * `ttlFrom` overrides the age the expiry tells (a process whose host clock is behind the check's).
 */
async function sidekiqProcess(identity: string, silentFor: number, payload: string | null, options: { version?: string; ttlFrom?: number } = {}): Promise<void> {
  const c = redis.client();
  const beat = Date.now() / 1000 - silentFor;
  const info = JSON.stringify({ hostname: identity.split(':')[0], started_at: beat - 100, pid: Number(identity.split(':')[1]), tag: '', concurrency: 1, queues: ['default'], labels: [], identity, ...(options.version ? { version: options.version } : {}) });
  const ttlMs = Math.round((60 - (options.ttlFrom ?? silentFor)) * 1000);
  await c.sadd('processes', identity);
  await c.hset(identity, 'info', info, 'beat', String(beat), 'quiet', 'false', 'busy', payload === null ? '0' : '1');
  await c.pexpire(identity, ttlMs);
  if (payload !== null) {
    await c.hset(`${identity}:workers`, 'tid1', JSON.stringify({ queue: 'default', payload, run_at: Math.floor(beat) - 1 }));
    await c.pexpire(`${identity}:workers`, ttlMs);
  }
}

/** The queue `default`, empty; the reliable process's list holding `held`, under its fetcher heartbeat (20 s left). */
async function seedReliableList(): Promise<void> {
  const c = redis.client();
  await c.sadd('queues', 'default');
  await c.rpush(WORKING, held);
  await c.set('reliable-fetcher-heartbeat-gitlab-sidekiq-1-4242-99aa88bb77cc', '1', 'EX', 20);
}

/** The N of `not heard from for N s` for the process, and the seconds the test's own clock saw pass since `from`. */
function silence(out: string, identity: string, from: number): { said: number; passed: number } {
  const said = new RegExp(`Sidekiq process ${identity} not heard from for (\\d+) s `).exec(out)?.[1];
  return { said: Number(said), passed: (Date.now() - from) / 1000 };
}

const LIVE_WORDS = `1 job(s) taken from this Redis's queues are being run by live Sidekiq processes (${LIVE} 1), in no list: one that fails goes to retry naming its queue; one whose process is stopped (TERM) first goes back on its queue on this Redis; one whose process is killed (KILL, out of memory) is lost, as Sidekiq's own fetch keeps it nowhere else`;

describe('drain-check and a Sidekiq process not heard from for several beats (killed, its heartbeat not yet expired)', { timeout: 60_000 }, () => {
  it('names it, what it holds and the runbook step: a reliable-fetch list and a basic-fetch job, beside a live process said as before; DRAINING, exit 0', async () => {
    const from = Date.now();
    await seedReliableList();
    await sidekiqProcess(RELIABLE, 40, held);
    await sidekiqProcess(BASIC, 40, lost);
    await sidekiqProcess(LIVE, 0, runs);

    const human = cli('drain-check', '--redis', redis.url());
    // The live process beats again (as it would every 5 s), however long the first check took.
    await sidekiqProcess(LIVE, 0, runs);
    const json = cli('drain-check', '--redis', redis.url(), '--json');

    const out = `${human.stdout}${human.stderr}`;
    expect(human.status, out).toBe(0);
    expect(out).toContain(`: DRAINING — 3 job(s) left\n`);
    expect(out).not.toContain('DRAINED');
    expect(out).toContain('Sidekiq processes: 3 live, 0 quiet, 0 gone or stale');
    expect(out).toContain(`\n  - ${LIVE_WORDS}\n`);
    // Neither killed process's jobs are said to be worked on.
    expect(out).not.toContain('being worked on by live processes');
    expect(out).not.toContain(`(${BASIC} 1)`);
    for (const identity of [RELIABLE, BASIC]) {
      const { said, passed } = silence(out, identity, from);
      expect(said, out).toBeGreaterThanOrEqual(40);
      expect(said, out).toBeLessThanOrEqual(40 + Math.ceil(passed));
    }
    const n = (identity: string) => silence(out, identity, from).said;
    expect(out).toContain(
      `\n  - Sidekiq process ${RELIABLE} not heard from for ${n(RELIABLE)} s (a live Sidekiq process beats every 5 s): it may have been killed. It holds 1 job(s) in its fetcher's private list ${WORKING}, which go back to their queue on this Redis only when a live process with the same fetcher returns them (GitLab's reliable fetcher within the hour, once this one's fetcher heartbeat has expired): see docs/runbooks/redis-move.md, step 6.1\n`,
    );
    expect(out).toContain(
      `\n  - Sidekiq process ${BASIC} not heard from for ${n(BASIC)} s (a live Sidekiq process beats every 5 s): it may have been killed. It holds 1 job(s) it was running in no list, lost if it was killed (Sidekiq's own fetch keeps them nowhere else); its heartbeat names them (\`${BASIC}:workers\`, \`:work\` from Sidekiq 6.5) until it expires, 60 s after its last beat: see docs/runbooks/redis-move.md, step 6.1\n`,
    );
    expect(out).toContain(`\n  ${WORKING}: 1 job(s), worker not heard from for ${n(RELIABLE)} s, it may have been killed\n`);

    expect(json.status, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as {
      verdict: { state: string };
      remaining: number;
      processes: Record<string, number>;
      notHeardFrom: { identity: string; silentSeconds: number; beatEverySeconds: number; lists: unknown[]; running: number }[];
      running: { jobs: number; silentJobs: number; silent: unknown[] };
      fetched: { key: string; ownerAlive: boolean; ownerSilentSeconds?: number }[];
    };
    expect(report.verdict.state).toBe('draining');
    expect(report.remaining).toBe(3);
    expect(report.processes).toEqual({ live: 3, quiet: 0, stale: 0 });
    const byIdentity = (a: { identity: string }, b: { identity: string }) => (a.identity < b.identity ? -1 : 1);
    const passed = (Date.now() - from) / 1000;
    expect(report.notHeardFrom.map(({ silentSeconds, ...p }) => ({ ...p, silentSeconds: silentSeconds >= 40 && silentSeconds <= 40 + passed })).sort(byIdentity)).toEqual([
      { identity: RELIABLE, beatEverySeconds: 5, lists: [{ key: WORKING, size: 1 }], running: 0, silentSeconds: true },
      { identity: BASIC, beatEverySeconds: 5, lists: [], running: 1, silentSeconds: true },
    ]);
    expect(report.running).toMatchObject({ jobs: 2, silentJobs: 1, silent: [{ identity: BASIC, jobs: 1 }] });
    expect(report.fetched).toEqual([expect.objectContaining({ key: WORKING, ownerAlive: true, ownerSilentSeconds: expect.any(Number) })]);
  });

  it('a process whose beat looks old but whose hash was just renewed (its host clock behind the check\'s) is not said silent; one of Sidekiq 7 (a beat every 10 s) is said with its own beat', async () => {
    const from = Date.now();
    await redis.client().sadd('queues', 'default');
    await sidekiqProcess(LIVE, 40, runs, { ttlFrom: 0 });
    await sidekiqProcess(BASIC, 40, lost, { version: '7.3.9' });

    const human = cli('drain-check', '--redis', redis.url());

    const out = `${human.stdout}${human.stderr}`;
    expect(human.status, out).toBe(0);
    expect(out).toContain(`: DRAINING — 2 job(s) left\n`);
    expect(out).toContain(`\n  - ${LIVE_WORDS}\n`);
    expect(out).not.toContain(`Sidekiq process ${LIVE} not heard from`);
    const { said } = silence(out, BASIC, from);
    expect(out).toContain(`\n  - Sidekiq process ${BASIC} not heard from for ${said} s (a live Sidekiq process beats every 10 s): it may have been killed. It holds 1 job(s) it was running in no list`);
  });
  it("a killed process whose host clock is ahead of the check's (its beat in the future): said silent by its hash's expiry, Redis's own clock", async () => {
    const from = Date.now();
    await redis.client().sadd('queues', 'default');
    // Its last beat 40 s ago by Redis's clock (the hash's expiry), stamped 30 s in the future by its host's.
    await sidekiqProcess(BASIC, -30, lost, { ttlFrom: 40 });

    const human = cli('drain-check', '--redis', redis.url());

    const out = `${human.stdout}${human.stderr}`;
    expect(human.status, out).toBe(0);
    expect(out).toContain(`: DRAINING — 1 job(s) left\n`);
    const { said, passed } = silence(out, BASIC, from);
    expect(said).toBeGreaterThanOrEqual(40);
    expect(said).toBeLessThanOrEqual(40 + Math.ceil(passed));
    expect(out).toContain(`\n  - Sidekiq process ${BASIC} not heard from for ${said} s (a live Sidekiq process beats every 5 s): it may have been killed. It holds 1 job(s) it was running in no list`);
    expect(out).not.toContain('are being run by live Sidekiq processes');
  });

  it('more silent processes holding jobs than the report names (10): the jobs of the others are said too, not left out of every reason', async () => {
    await redis.client().sadd('queues', 'default');
    // A node's crash: 12 basic-fetch processes killed at once, each running one job.
    const killed = Array.from({ length: 12 }, (_, i) => `gitlab-sidekiq-9:${1000 + i}:aa11bb22cc${String(i).padStart(2, '0')}`);
    for (const [i, identity] of killed.entries()) {
      await sidekiqProcess(identity, 40, sidekiqPayload({ className: 'A', queue: 'default', jid: `0000000000000000000001${String(i).padStart(2, '0')}` }));
    }

    const human = cli('drain-check', '--redis', redis.url());

    const out = `${human.stdout}${human.stderr}`;
    expect(human.status, out).toBe(0);
    expect(out).toContain(`: DRAINING — 12 job(s) left\n`);
    expect(out.match(/\n {2}- Sidekiq process gitlab-sidekiq-9:\d+:\w+ not heard from for \d+ s /g), out).toHaveLength(10);
    expect(out).toContain(
      `\n  - 2 more job(s) are held by other Sidekiq processes not heard from for more than 3 beats (the first 10 are named above): they may have been killed; see docs/runbooks/redis-move.md, step 6.1\n`,
    );
  });

  it('a live process that restarted under the same HOST:PID (a container\'s PID 1) beside its killed predecessor: its reliable-fetch list is worked on, not said of the killed one', async () => {
    await redis.client().sadd('queues', 'default');
    const KILLED = 'sidekiq-0:1:aaaaaaaaaaaa';
    const RESTARTED = 'sidekiq-0:1:bbbbbbbbbbbb';
    const list = 'working:queue:default:sidekiq-0:1:cccccccccccc';
    await redis.client().rpush(list, held);
    await redis.client().set('reliable-fetcher-heartbeat-sidekiq-0-1-cccccccccccc', '1', 'EX', 60);
    await sidekiqProcess(KILLED, 40, null);
    await sidekiqProcess(RESTARTED, 0, held);

    const human = cli('drain-check', '--redis', redis.url());

    const out = `${human.stdout}${human.stderr}`;
    expect(human.status, out).toBe(0);
    expect(out).toContain(`: DRAINING — 1 job(s) left\n`);
    expect(out).toContain('\n  - 1 job(s) are being worked on by live processes: they finish here, or fail into retry on this Redis\n');
    expect(out).toContain(`\n  ${list}: 1 job(s), worker alive\n`);
    expect(out).not.toContain('not heard from');
  });
});
