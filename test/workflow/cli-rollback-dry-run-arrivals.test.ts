// A rollback's dry run over jobs of the class it puts back that a producer (a node still on the
// rolled-back run's routing) pushed to the queue it drains while it read: it said they "arrived
// during the rollback … not moved back by this rollback; roll back r1 again", while its verdict
// said a rollback "would put back 3,000 job(s) and leave none behind"; the real rollback, run
// next, put them back with the rest (it takes every job of the class on the queue when it starts:
// rollback-arrivals.ts, queue-slice.ts). Its words now say what a rollback started now would do.
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateRedis();
const lastLine = (stdout: string) => stdout.trimEnd().split('\n').at(-1);
const job = (className: string, queue: string, i: number) => sidekiqPayload({ className, queue, args: `[${i}]`, jid: String(i).padStart(24, '0') });

describe("a rollback's dry run over jobs pushed to the queue it drains while it reads", { timeout: 180_000 }, () => {
  it('says a rollback started now would take them in too, as the rollback then does: puts them back', async () => {
    const c = redis.client();
    const originals = Array.from({ length: 3000 }, (_, i) => job('A', 'old', i));
    for (let i = 0; i < originals.length; i += 500) await c.lpush('queue:old', ...originals.slice(i, i + 500));
    await c.sadd('queues', 'old');
    expect((await runCli('run', '--redis', redis.url(), '--rename', 'old=new', '--run-id', 'r1')).code).toBe(0);

    // Once the dry run reads its second page of queue:new, a producer pushes 2 A jobs (put back by
    // a rollback) and 1 B job (another class: stays) there, in one LPUSH.
    const pushed = [job('A', 'new', 100_001), job('A', 'new', 100_002)];
    const other = job('B', 'new', 100_003);
    const producer = new Redis(redis.url(), { protocol: 2 });
    const monitor = await new Redis(redis.url(), { protocol: 2 }).monitor();
    let pages = 0;
    let pushing: Promise<unknown> | undefined;
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[0]?.toLowerCase() === 'lrange' && args[1] === 'queue:new' && ++pages === 2) pushing = producer.lpush('queue:new', ...pushed, other);
    });
    const dry = await runCli('rollback', 'r1', '--redis', redis.url(), '--dry-run', '--page-size', '50');
    const json = await runCli('rollback', 'r1', '--redis', redis.url(), '--dry-run', '--json');
    monitor.disconnect();
    await pushing;
    producer.disconnect();

    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    expect(pushing, 'the producer pushed during the dry run').toBeDefined();
    const moved = originals.map((j) => j.replace('"queue":"old"', '"queue":"new"'));
    expect(await jobsIn(c)).toEqual([...[...moved, ...pushed, other].map((j) => jobEntry('queue:new', j))].sort());
    expect(dry.stdout).toContain(
      '\n2 job(s) of the classes it puts back arrived on the queues it drains, those run r1 moved jobs to, while this dry run read them (queue:new 2): not counted above; a rollback started now would take them in too (this dry run did not examine them: dry-run again to count them).\n',
    );
    expect(dry.stdout).not.toMatch(/not moved back|roll back r1 again/);
    expect(lastLine(dry.stdout)).toBe('Dry run, nothing written: a rollback would put back 3,000 job(s) and leave none behind, and take in too the 2 that arrived while this dry run read (see "Needs a look" above).');
    // A dry run after the pushes counts them with the rest, as --json says.
    expect(json.code, json.stdout + json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ totals: { moved: 3002, arrived: 0 }, verdict: { state: 'dry-run', line: 'Dry run, nothing written: a rollback would put back 3,002 job(s) and leave none behind.' } });

    const back = await runCli('rollback', 'r1', '--redis', redis.url());

    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(lastLine(back.stdout)).toBe('Complete: everything that could be moved was moved.');
    expect(back.stdout).toContain('\nMoved to: old 3,002\n');
    const backOnOld = [...originals, ...pushed.map((j) => j.replace('"queue":"new"', '"queue":"old"'))];
    expect(await jobsIn(c)).toEqual([...backOnOld.map((j) => jobEntry('queue:old', j)), jobEntry('queue:new', other)].sort());
  });

  it("a run's dry run, the same: a run started now takes them in (not \"not moved by this run; run again\")", async () => {
    const c = redis.client();
    const originals = Array.from({ length: 3000 }, (_, i) => job('A', 'old', i));
    for (let i = 0; i < originals.length; i += 500) await c.lpush('queue:old', ...originals.slice(i, i + 500));
    await c.sadd('queues', 'old');
    const pushed = [job('A', 'old', 100_001), job('B', 'old', 100_002)];
    const producer = new Redis(redis.url(), { protocol: 2 });
    const monitor = await new Redis(redis.url(), { protocol: 2 }).monitor();
    let pages = 0;
    let pushing: Promise<unknown> | undefined;
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[0]?.toLowerCase() === 'lrange' && args[1] === 'queue:old' && ++pages === 2) pushing = producer.lpush('queue:old', ...pushed);
    });
    const dry = await runCli('run', '--redis', redis.url(), '--rename', 'old=new', '--dry-run', '--page-size', '50');
    monitor.disconnect();
    await pushing;
    producer.disconnect();

    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    expect(pushing, 'the producer pushed during the dry run').toBeDefined();
    expect(await jobsIn(c)).toEqual([...originals, ...pushed].map((j) => jobEntry('queue:old', j)).sort());
    expect(dry.stdout).toContain('\n2 job(s) arrived on retired queues while this dry run read them (queue:old 2): not counted above; a run started now would take them in too (this dry run did not examine them: dry-run again to count them).\n');
    expect(dry.stdout).not.toMatch(/not moved by this run|; run again/);
    expect(lastLine(dry.stdout)).toBe('Dry run, nothing written: a run would move 3,000 job(s) and leave none behind, and take in too the 2 that arrived while this dry run read (see "Needs a look" above).');

    const run = await runCli('run', '--redis', redis.url(), '--rename', 'old=new');

    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(lastLine(run.stdout)).toBe('Complete: everything that could be moved was moved.');
    expect(await jobsIn(c)).toEqual([...originals, ...pushed].map((j) => jobEntry('queue:new', j.replace('"queue":"old"', '"queue":"new"'))).sort());
  });
});
