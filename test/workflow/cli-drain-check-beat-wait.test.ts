import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { beatingProcess, type BeatingProcess } from '../support/beating-process.js';
import { bufferIo } from '../support/buffer-io.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// A job a live Sidekiq fetched (BRPOP) less than a beat before the check: out of its list, and not
// yet in the process's heartbeat hash (`IDENTITY:workers`, written at each beat from a copy taken
// just before). drain-check said `DRAINED — 0 job(s) left`, exit 0, over it; the routing runbook's
// next step (a restart without the retired queue) puts such a job back where nobody fetches. A
// `drained` now needs every live process of the scope to have beaten twice after the lists were
// found empty (then the heartbeat shows what it runs), within the check's time; otherwise the
// check says it is not sure. Scripted processes (beating-process.ts) beat every second, writing
// the copy of the beat before (the worst case): a job taken just after a beat shows two beats later.
const redis = privateRedis();
const keys = new SidekiqKeys('');
const processes: BeatingProcess[] = [];
afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.stop()));
});

const WAITING = /^Nothing left (of the retired queues )?in lists and sets; waiting up to \d+ s for the 1 live Sidekiq process\(es\) (fetching from them )?to beat twice: a job one fetched less than a beat ago is in no list and shows only in its next heartbeat\.$/m;

async function justAfterABeat(p: BeatingProcess): Promise<void> {
  const seen = p.beats();
  while (p.beats() === seen) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('drain-check and a job a live process fetched less than a beat ago', { timeout: 90_000 }, () => {
  it('is not DRAINED: it waits for two beats and then counts the job the heartbeat shows', async () => {
    const c = redis.client();
    const job = sidekiqPayload({ className: 'OldWorker', queue: 'old' });
    await c.sadd('queues', 'old', 'new');
    await c.lpush('queue:old', job);
    // The job shows in the heartbeat two beats after it was taken: the first check must look
    // before that to find nothing and wait. Beats 1 s apart left it 2 s, which a loaded machine
    // (load 30) overran: the check found the job in the heartbeat at once and never waited.
    const p = beatingProcess(c, keys, 'web-1:7:aaaaaaaaaaaa', ['old', 'new'], { everyMs: 4000, lag: 1 });
    processes.push(p);
    await justAfterABeat(p);
    // The fetch: off the list, into the process's memory.
    expect(await c.rpop('queue:old')).toBe(job);
    p.take('old', job);

    const scoped = await runCli('drain-check', '--redis', redis.url(), '--retired-queues', 'old');
    const whole = await runCli('drain-check', '--redis', redis.url());

    expect(scoped.code, scoped.stderr).toBe(0);
    expect(scoped.stdout).toMatch(/^redis:\/\/\S+: DRAINING — 1 job\(s\) left of the 1 retired queue\(s\) only/);
    expect(scoped.stdout).toContain(
      '  - 1 job(s) taken from retired queues are being run by live Sidekiq processes (web-1:7:aaaaaaaaaaaa 1), in no list: one that fails goes to retry naming its queue; one whose process is stopped (TERM) first goes back on its queue on this Redis; one whose process is killed (KILL, out of memory) is lost, as Sidekiq\'s own fetch keeps it nowhere else\n',
    );
    expect(scoped.stderr).toMatch(WAITING);
    // By then the heartbeat shows it: no wait.
    expect(whole.stdout).toMatch(/^redis:\/\/\S+: DRAINING — 1 job\(s\) left\n/);
    expect(whole.stderr).not.toMatch(WAITING);
  });

  it('says DRAINED once every live process beat twice with nothing running, and a process of other queues is not waited for', async () => {
    const c = redis.client();
    await c.sadd('queues', 'old', 'new');
    processes.push(beatingProcess(c, keys, 'web-1:8:bbbbbbbbbbbb', ['new'], { everyMs: 300 }));

    const whole = await runCli('drain-check', '--redis', redis.url(), '--json');
    const scoped = await runCli('drain-check', '--redis', redis.url(), '--retired-queues', 'old');

    expect(whole.code, whole.stderr).toBe(0);
    expect(JSON.parse(whole.stdout)).toMatchObject({ remaining: 0, verdict: { state: 'drained' }, beatWait: { processes: 1 } });
    expect(whole.stderr).toMatch(WAITING);
    expect(scoped.code, scoped.stderr).toBe(0);
    expect(scoped.stdout).toMatch(/^redis:\/\/\S+: DRAINED — 0 job\(s\) left of the 1 retired queue\(s\) only/);
    expect(scoped.stderr).not.toMatch(WAITING);
  });

  it('is not sure (exit 1, never DRAINED) when a live process does not beat twice within --time-limit, or stops while it waits', async () => {
    const c = redis.client();
    await c.sadd('queues', 'old');
    // Live (beat 2 s ago) but not beating since.
    await heartbeat(c, keys, 'web-1:9:cccccccccccc', ['old'], { beatAt: Date.now() / 1000 - 2, beating: false });

    const late = await runCli('drain-check', '--redis', redis.url(), '--time-limit', '4');

    expect(late.code, late.stderr).toBe(1);
    expect(late.stdout).toMatch(/^redis:\/\/\S+: DRAINING — 0 job\(s\) left\n/);
    expect(late.stdout).toMatch(
      /^ {2}- not yet sure: the check found nothing left, but 1 live Sidekiq process\(es\) had not beaten twice in the \d+(\.\d)? s it waited \(web-1:9:cccccccccccc\): a job one fetched less than a beat \(5–10 s\) before is in no list and not yet in its heartbeat, so this is not a verdict of drained; check again$/m,
    );
    expect(late.stderr).toMatch(WAITING);

    await c.del('processes', 'web-1:9:cccccccccccc');
    const p = beatingProcess(c, keys, 'web-1:10:dddddddddddd', ['old'], { everyMs: 1000 });
    processes.push(p);
    await justAfterABeat(p);
    // Stopped once the check waits for it (it said so): a fixed 300 ms was not always enough for
    // the check to get there on a loaded machine, and a process gone before it looked is no process.
    const io = bufferIo();
    let done = false;
    const checking = main(['node', 'sidekiq-migrate', 'drain-check', '--redis', redis.url()], io).finally(() => (done = true));
    while (!done && !WAITING.test(io.stderr())) await new Promise((resolve) => setTimeout(resolve, 5));
    await p.stop({ leave: true });
    const stopped = { code: await checking, stdout: io.stdout(), stderr: io.stderr() };

    expect(stopped.code, stopped.stderr).toBe(1);
    expect(stopped.stdout).toMatch(/^redis:\/\/\S+: DRAINING — 0 job\(s\) left\n/);
    expect(stopped.stdout).toContain('1 live Sidekiq process(es) stopped while it waited, putting back on their queues what they ran (web-1:10:dddddddddddd)');
  });
});
