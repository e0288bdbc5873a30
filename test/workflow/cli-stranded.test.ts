import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { CE_CATALOG } from '../support/paths.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { allJobs } from '../support/redis-snapshot.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';

// Issue 11, jobs stranded and verdicts told straight: a producer still pushing during a run,
// quarantine on live queues (GitLab's mailers, a rollback's queues), quarantine lists in drain
// checks and transfers, and set entries counted rather than sampled.
const redis = privateSourceAndTarget();
const dir = mkdtempSync(join(tmpdir(), 'cli-stranded-'));
const rulesFile = join(dir, 'rules.json');
writeFileSync(rulesFile, JSON.stringify([['*', 'default']]));
const mappingFile = join(dir, 'mapping.json');
writeFileSync(mappingFile, JSON.stringify({ W: 'c' }));
const keys = new SidekiqKeys('');
const now = () => Math.floor(Date.now() / 1000);

const cli = runCli;

/** Every job on a server as `key \t payload \t score`, our run bookkeeping left out. */
async function jobs(client: Redis): Promise<string[]> {
  return (await allJobs(client, ''))
    .filter((j) => j.key !== 'queues' && !/^sidekiq-migrate:[^:]+:(moves|ledger|conflicts)/.test(j.key))
    .map((j) => `${j.key}\t${j.payload}\t${j.score ?? ''}`)
    .sort();
}

const job = (queue: string, i: number, className = 'A', wrapped?: string) =>
  sidekiqPayload({ className, queue, args: `[${i},1.0]`, jid: String(i).padStart(24, '0'), ...(wrapped ? { wrapped } : {}) });
const at = (key: string, payloads: string[], score = '') => payloads.map((p) => `${key}\t${p}\t${score}`);
const mail = (i: number) => job('mailers', i, 'ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper', 'ActionMailer::MailDeliveryJob');

// The first CLI run of a file synthesizes the state machine: slow on a loaded machine.
describe('a producer still pushing to a retired queue during run', { timeout: 180_000 }, () => {
  it('moves every one of the 3,000 jobs that were there when the run started, and reports what arrived meanwhile', async () => {
    const source = redis.source();
    const originals = Array.from({ length: 3000 }, (_, i) => job('old', i));
    // Sidekiq's client LPUSHes: the first job pushed is the oldest, at the right end.
    for (let i = 0; i < originals.length; i += 500) await source.lpush('queue:old', ...originals.slice(i, i + 500));
    await source.sadd('queues', 'old');

    // A node on old rules keeps pushing, on its own connection, until the run has ended.
    const producer = new Redis(redis.urls().source, { protocol: 2 });
    const produced: string[] = [];
    let running = true;
    const pushing = (async () => {
      while (running) {
        const p = job('old', 100_000 + produced.length);
        produced.push(p);
        await producer.lpush('queue:old', p);
      }
    })();
    const run = await cli('run', '--redis', redis.urls().source, '--rename', 'old=new', '--page-size', '100');
    running = false;
    await pushing;
    producer.disconnect();

    expect(run.code).toBe(0);
    // Jobs pushed before the queue's work started were there when it started: moved with the rest.
    const late = await source.llen('queue:old');
    const early = produced.length - late;
    const moved = [...originals, ...produced.slice(0, early)].map((p) => p.replace('"queue":"old"', '"queue":"new"'));
    expect(await jobs(source)).toEqual([...at('queue:new', moved), ...at('queue:old', produced.slice(early))].sort());
    // The producer really pushed during the run, and what it pushed late is reported, not hidden.
    expect(late).toBeGreaterThan(0);
    expect(run.stdout).toContain(`Moved to: new ${(3000 + early).toLocaleString('en-US')}`);
    const arrived = /^(\d+) job\(s\) arrived on retired queues during the run \(queue:old (\d+)\): not moved by this run; run again or see drain-check\.$/m.exec(run.stdout);
    expect(arrived, run.stdout).not.toBeNull();
    expect(Number(arrived![1])).toBeGreaterThan(0);
    expect(Number(arrived![1])).toBeLessThanOrEqual(late);
    // Never "Complete" while jobs sit on a retired queue.
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe(`Done, but jobs were left behind: ${arrived![1]} arrived on retired queues during the run (see "Needs a look" above).`);
    expect(run.stdout).not.toContain('Complete');
  });
});

describe('a producer still pushing to the old Redis during move', { timeout: 180_000 }, () => {
  it('every job is on exactly one side; what is still on the source queue is said, not called complete', async () => {
    const [source, target] = [redis.source(), redis.target()];
    const originals = Array.from({ length: 3000 }, (_, i) => job('q', i));
    for (let i = 0; i < originals.length; i += 500) await source.lpush('queue:q', ...originals.slice(i, i + 500));
    await source.sadd('queues', 'q');

    const producer = new Redis(redis.urls().source, { protocol: 2 });
    const produced: string[] = [];
    let running = true;
    const pushing = (async () => {
      while (running) {
        const p = job('q', 100_000 + produced.length);
        produced.push(p);
        await producer.lpush('queue:q', p);
      }
    })();
    const move = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--page-size', '100');
    running = false;
    await pushing;
    producer.disconnect();

    expect(move.code).toBe(0);
    const everywhere = [...(await jobs(source)), ...(await jobs(target))].map((j) => j.split('\t')[1]!).sort();
    expect(everywhere).toEqual([...originals, ...produced].sort());
    const left = await source.llen('queue:q');
    expect(left).toBeGreaterThan(0);
    // Every job that was there when the move started is on the target; only late arrivals stay.
    const onTarget = new Set((await jobs(target)).map((j) => j.split('\t')[1]!));
    expect(originals.filter((p) => !onTarget.has(p))).toEqual([]);
    const stayed = (await source.lrange('queue:q', 0, -1)).sort();
    expect(stayed.every((p) => produced.includes(p))).toBe(true);
    const said = /^(\d[\d,]*) job\(s\) still on the source when their transfer ended, added during the run \(queue:q [\d,]+\): run move again or see drain-check\.$/m.exec(move.stdout);
    expect(said, move.stdout).not.toBeNull();
    expect(Number(said![1]!.replace(/,/g, ''))).toBeGreaterThan(0);
    expect(Number(said![1]!.replace(/,/g, ''))).toBeLessThanOrEqual(left);
    expect(move.stdout).toMatch(/^Done, but jobs remain on the source \([\d,]+, above\): run move again\.$/m);
    expect(move.stdout).not.toContain('Complete');
  });

  it('a retry handler adding to the old retry set during move: every entry on exactly one side, what stays is said, not called complete', async () => {
    const [source, target] = [redis.source(), redis.target()];
    const base = now() + 3600;
    // Due before anything the handler adds: the pass, bounded by the set's size at its start, takes these.
    const originals = Array.from({ length: 3000 }, (_, i) => [String(base + i), job('q', i)] as const);
    for (let i = 0; i < originals.length; i += 500) await source.zadd('retry', ...originals.slice(i, i + 500).flat());

    const handler = new Redis(redis.urls().source, { protocol: 2 });
    const added: (readonly [string, string])[] = [];
    let running = true;
    const adding = (async () => {
      while (running) {
        const entry = [String(base + 10_000 + added.length), job('q', 100_000 + added.length)] as const;
        added.push(entry);
        await handler.zadd('retry', ...entry);
      }
    })();
    const move = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--page-size', '100');
    running = false;
    await adding;
    handler.disconnect();

    expect(move.code).toBe(0);
    // Every entry exactly once, bytes and score kept: the originals on the target, the rest on the source.
    const entries = async (r: Redis) => (await allJobs(r, '')).filter((j) => j.key === 'retry').map((j) => `${j.score}\t${j.payload}`);
    expect([...(await entries(source)), ...(await entries(target))].sort()).toEqual([...originals, ...added].map(([score, p]) => `${score}\t${p}`).sort());
    expect((await entries(target)).sort()).toEqual(expect.arrayContaining(originals.map(([score, p]) => `${score}\t${p}`)));
    const left = await source.zcard('retry');
    expect(left).toBeGreaterThan(0);
    const said = /^(\d[\d,]*) job\(s\) still on the source when their transfer ended, added during the run \(retry ([\d,]+)\): run move again or see drain-check\.$/m.exec(move.stdout);
    expect(said, move.stdout).not.toBeNull();
    expect(Number(said![1]!.replace(/,/g, ''))).toBeGreaterThan(0);
    expect(Number(said![1]!.replace(/,/g, ''))).toBeLessThanOrEqual(left);
    expect(move.stdout).toMatch(/^Done, but jobs remain on the source \([\d,]+, above\): run move again\.$/m);
    expect(move.stdout).not.toContain('Complete');
  });
});

describe('--unmapped quarantine never empties a live queue', { timeout: 180_000 }, () => {
  it("GitLab routing: mailers keeps its 2 mails; a retired queue's unmapped job is quarantined; the summary says which is which", async () => {
    const source = redis.source();
    const mails = [mail(1), mail(2)];
    const receiver = job('email_receiver', 3, 'EmailReceiverWorker');
    const removed = job('email_receiver', 4, 'RemovedWorker');
    await source.lpush('queue:mailers', ...mails);
    await source.lpush('queue:email_receiver', receiver, removed);
    await source.sadd('queues', 'mailers', 'email_receiver');

    const { code, stdout } = await cli('run', '--redis', redis.urls().source, '--catalog', CE_CATALOG, '--rules', rulesFile, '--unmapped', 'quarantine');

    expect(code).toBe(0);
    expect(await jobs(source)).toEqual(
      [...at('queue:mailers', mails), ...at('queue:default', [receiver.replace('"queue":"email_receiver"', '"queue":"default"')]), ...at('sidekiq-migrate:quarantine:email_receiver', [removed])].sort(),
    );
    expect(stdout).toContain('Moved to: default 1');
    expect(stdout).toContain('Left in place, no destination for their class: ActionMailer::MailDeliveryJob 2');
    expect(stdout).toContain('Left in place on live queues (still routed to or fetched; never quarantined): queue:mailers 2');
    expect(stdout).toContain('Quarantined, no destination for their class: RemovedWorker 1');
    expect(stdout).toContain('Quarantined to sidekiq-migrate:quarantine:<queue>, by queue: queue:email_receiver 1');
    expect(stdout).not.toMatch(/Quarantined.*(MailDeliveryJob|mailers)/);
    // Jobs were left (2 mails on mailers) and quarantined (1): never "Complete".
    expect(stdout).toContain('Done, but jobs were left behind: 1 quarantined · 2 left in place (see "Needs a look" above).');
    expect(stdout).not.toContain('Complete');
  });

  it('rollback RUN --unmapped quarantine: a class brought to c from both a and b stays on c, with later jobs; nothing is quarantined', async () => {
    const source = redis.source();
    await source.lpush('queue:a', job('a', 1, 'W'), job('a', 2, 'W'));
    await source.lpush('queue:b', job('b', 3, 'W'));
    await source.sadd('queues', 'a', 'b');
    expect((await cli('run', '--redis', redis.urls().source, '--mapping', mappingFile, '--run-id', 'both-1')).code).toBe(0);
    await source.lpush('queue:c', job('c', 4, 'W')); // pushed after the run, by the new rules
    const before = await jobs(source);
    expect(before.filter((j) => j.startsWith('queue:c\t'))).toHaveLength(4);

    const { code, stdout } = await cli('rollback', 'both-1', '--redis', redis.urls().source, '--unmapped', 'quarantine');

    expect(code).toBe(0);
    expect(await jobs(source)).toEqual(before);
    expect(await source.keys('sidekiq-migrate:quarantine:*')).toEqual([]);
    expect(stdout).toContain('Left in place, cannot be put back (the samples say why): W 4');
    expect(stdout).toContain('Left in place on live queues (still routed to or fetched; never quarantined): queue:c 4');
    expect(stdout).not.toContain('Quarantined');
  });
});

describe('quarantine lists are jobs: drain-check counts them, a transfer names what it leaves', { timeout: 180_000 }, () => {
  it('drain-check: STUCK, exit 3, each quarantine list and in-flight key named with its count', async () => {
    const source = redis.source();
    await heartbeat(source, keys, 'w:1:aaaaaaaaaaaa', ['default'], { beatAt: now() });
    await source.rpush('sidekiq-migrate:quarantine:old', job('old', 1, 'Gone'), job('old', 2, 'Gone'));

    const quarantined = await cli('drain-check', '--redis', redis.urls().source);

    expect(quarantined.code).toBe(3);
    expect(quarantined.stdout).toMatch(/: STUCK — 2 job\(s\) left$/m);
    expect(quarantined.stdout).toContain('2 job(s) sit in quarantine lists nobody fetches (sidekiq-migrate:quarantine:old 2)');
    expect(quarantined.stdout).toContain('  sidekiq-migrate:quarantine:old: 2 job(s)');
    // Scoped to retired queues, too: quarantined jobs are left whatever the scope.
    expect((await cli('drain-check', '--redis', redis.urls().source, '--retired-queues', 'old')).code).toBe(3);

    await source.del('sidekiq-migrate:quarantine:old');
    await source.rpush('sidekiq-migrate:t-1:inflight:queue:q', job('q', 3));
    const inflight = await cli('drain-check', '--redis', redis.urls().source);

    expect(inflight.code).toBe(3);
    expect(inflight.stdout).toMatch(/: STUCK — 1 job\(s\) left$/m);
    expect(inflight.stdout).toContain('  sidekiq-migrate:t-1:inflight:queue:q: 1 job(s), run t-1');
  });

  it('run again (step 4 once more): never "Complete" while quarantine lists of an earlier run hold jobs, named; the run that fills them counts them once', async () => {
    const source = redis.source();
    await source.rpush('queue:old', job('old', 1, 'Gone'), job('old', 2, 'W'));
    await source.sadd('queues', 'old');

    const first = await cli('run', '--redis', redis.urls().source, '--mapping', mappingFile, '--unmapped', 'quarantine');
    const again = await cli('run', '--redis', redis.urls().source, '--mapping', mappingFile, '--unmapped', 'quarantine');
    const dry = await cli('run', '--redis', redis.urls().source, '--mapping', mappingFile, '--dry-run');

    expect(await jobs(source)).toEqual([...at('queue:c', [job('c', 2, 'W')]), ...at('sidekiq-migrate:quarantine:old', [job('old', 1, 'Gone')])].sort());
    expect(first.stdout).not.toContain('earlier runs');
    expect(first.stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs were left behind: 1 quarantined (see "Needs a look" above).');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('1 job(s) in quarantine lists from earlier runs, which nobody runs: sidekiq-migrate:quarantine:old 1');
    expect(again.stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs were left behind: 1 in quarantine lists from earlier runs (see "Needs a look" above).');
    expect(again.stdout).not.toContain('Complete');
    expect(dry.stdout.trimEnd().split('\n').at(-1)).toBe('Dry run, nothing written: a run would move 0 job(s) and leave jobs behind: 1 in quarantine lists from earlier runs (see "Needs a look" above).');
  });

  it('move: quarantine lists stay on the source, named in the summary; the source is not called drained', async () => {
    const [source, target] = [redis.source(), redis.target()];
    const parked = [job('old', 1, 'Gone'), job('old', 2, 'Gone')];
    const queued = [job('q', 3), job('q', 4)];
    await source.rpush('sidekiq-migrate:quarantine:old', ...parked);
    await source.rpush('queue:q', ...queued);
    await source.sadd('queues', 'q');

    const { code, stdout } = await cli('move', '--from', redis.urls().source, '--to', redis.urls().target);

    expect(code).toBe(0);
    expect(await jobs(source)).toEqual(at('sidekiq-migrate:quarantine:old', parked));
    expect(await jobs(target)).toEqual(at('queue:q', queued).sort());
    expect(stdout).toContain('Not transferred, left on the source: sidekiq-migrate:quarantine:old 2');
    expect(stdout).toContain('The source is not drained while these exist');
    const drain = await cli('drain-check', '--redis', redis.urls().source);
    expect(drain.code).toBe(3);
    expect(drain.stdout).not.toContain('DRAINED');
  });
});

describe('drain-check counts set entries, it does not extrapolate from the soonest', { timeout: 180_000 }, () => {
  it('3,000 retries due within the hour and 50 naming a retired queue due in 14 days: not drained, 50 counted', async () => {
    const source = redis.source();
    await heartbeat(source, keys, 'w:1:aaaaaaaaaaaa', ['new', 'old'], { beatAt: now() });
    const pipeline = source.pipeline();
    for (let i = 0; i < 3000; i++) pipeline.zadd('retry', String(now() + 60 + i), job('new', i));
    for (let i = 0; i < 50; i++) pipeline.zadd('retry', String(now() + 14 * 86400 + i), job('old', 10_000 + i));
    await pipeline.exec();

    const { code, stdout } = await cli('drain-check', '--redis', redis.urls().source, '--retired-queues', 'old');

    expect(stdout).toMatch(/: DRAINING — 50 job\(s\) left of the 1 retired queue\(s\) only \(jobs of other queues are not counted\)$/m);
    expect(stdout).not.toContain('DRAINED');
    expect(stdout).toMatch(/^retry +3050 total, 3000 due within the hour, 0 for queues nobody fetches, 50 for retired queues$/m);
    expect(stdout).toMatch(/50 scheduled or retrying job\(s\) name retired queues, the last due in \d+(?:\.\d)? (?:s|min|h): the migration rewrites them \(run it again\), or they reach those queues when due/);
    expect(code).toBe(0);
  });
});
