// Jobs that workers took into their fetchers' private lists (GitLab's reliable fetcher, Sidekiq
// Pro's super_fetch): found under the prefix, their owner judged alive or gone as each fetcher
// judges it, counted by the drain check, and never called drained.
import { describe, expect, it } from 'vitest';
import { drainExitCode } from '../../../cli/commands/drain-check-command.js';
import type { DrainReport } from '../../../core/drain/drain-report.js';
import { drainCheck } from '../../../core/drain/drain-check.js';
import { findFetcherLists, parseFetcherKey } from '../../../core/drain/fetcher-lists.js';
import { censusProcesses } from '../../../core/drain/live-processes.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { redisKey } from '../../../core/redis/key-name.js';
import { connectShared, uniquePrefix } from '../../support/redis.js';
import { heartbeat } from '../../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

/** The exit code of the checked prefix alone: this shared server holds other tests' prefixes, whose jobs nobody runs. */
const ownExitCode = (report: DrainReport) => drainExitCode({ ...report, otherPrefixes: [] });

const redis = connectShared();
const NOW = 1_795_459_303;
const at = (seconds: number) => () => seconds * 1000;
const job = (queue: string) => sidekiqPayload({ className: 'A', queue });
const ownReasons = (reasons: readonly string[]) => reasons.filter((r) => !r.startsWith('jobs under another prefix of this Redis'));

describe("a fetcher's private list, by its name", () => {
  it("reads GitLab's working lists (queue names with colons, the older identity) and super_fetch's", () => {
    const parse = (name: string | Buffer) => parseFetcherKey(typeof name === 'string' ? Buffer.from(name) : name);
    expect(parse('working:queue:default:web-1:4242:0a1b2c3d4e5f')).toEqual({ queue: 'default', owner: 'web-1:4242:0a1b2c3d4e5f', fetcher: 'reliable-fetch' });
    expect(parse('working:queue:cronjob:stuck_ci_jobs:web-1:4242:0a1b2c3d4e5f')).toEqual({ queue: 'cronjob:stuck_ci_jobs', owner: 'web-1:4242:0a1b2c3d4e5f', fetcher: 'reliable-fetch' });
    expect(parse('working:queue:default:web-1:4242')).toEqual({ queue: 'default', owner: 'web-1:4242', fetcher: 'reliable-fetch' });
    expect(parse('queue:sq|web-1:4242:0a1b2c3d4e5f|mailers')).toEqual({ queue: 'mailers', owner: 'web-1:4242:0a1b2c3d4e5f', fetcher: 'super-fetch' });
    // A queue whose name is not UTF-8 keeps its bytes (key-name.ts).
    const latin = parse(Buffer.concat([Buffer.from('working:queue:caf'), Buffer.from([0xe9]), Buffer.from(':web-1:1:ab')]));
    expect(redisKey(latin.queue!)).toEqual(Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9])]));
    // Not private lists.
    for (const name of ['working:queue:', 'working:queue:default', 'queue:default', 'queue:sq|only-an-identity', 'working:other:x:1:a']) expect(parse(name)).toEqual({});
  });
});

describe("the jobs in fetchers' private lists", () => {
  it("finds them under the prefix only, of the list type, with each owner's liveness as its fetcher sees it", async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const p = keys.prefix;
    await redis.rpush(`${p}working:queue:default:web-1:11:aa`, job('default'), job('default'));
    await redis.set(`${p}reliable-fetcher-heartbeat-web-1-11-aa`, '1', 'EX', 60); // GitLab's heartbeat: alive
    await redis.rpush(`${p}working:queue:cronjob:x:web-2:22:bb`, job('cronjob:x')); // no heartbeat: gone
    await redis.rpush(`${p}working:queue:old:web-3:33`, job('old')); // GitLab's older identity, no heartbeat
    await redis.rpush(`${p}queue:sq|web-4:44:cc|mailers`, job('mailers')); // super_fetch, its process beats
    await redis.rpush(`${p}queue:sq|web-5:55:dd|mailers`, job('mailers')); // super_fetch, no such process
    await heartbeat(redis, keys, 'web-4:44:cc', ['mailers'], { beatAt: NOW - 5 });
    await redis.set(`${p}working:queue:string:web-1:11:aa`, 'not a list');
    await redis.rpush(`other:${p}working:queue:default:web-1:11:aa`, job('default')); // another prefix

    const { processes } = await censusProcesses(redis, keys, NOW);
    const found = await findFetcherLists(redis, keys, processes);

    expect(found).toEqual([
      { key: `${p}queue:sq|web-4:44:cc|mailers`, queue: 'mailers', owner: 'web-4:44:cc', fetcher: 'super-fetch', ownerAlive: true, size: 1 },
      { key: `${p}queue:sq|web-5:55:dd|mailers`, queue: 'mailers', owner: 'web-5:55:dd', fetcher: 'super-fetch', ownerAlive: false, size: 1 },
      { key: `${p}working:queue:cronjob:x:web-2:22:bb`, queue: 'cronjob:x', owner: 'web-2:22:bb', fetcher: 'reliable-fetch', ownerAlive: false, size: 1 },
      { key: `${p}working:queue:default:web-1:11:aa`, queue: 'default', owner: 'web-1:11:aa', fetcher: 'reliable-fetch', ownerAlive: true, size: 2 },
      { key: `${p}working:queue:old:web-3:33`, queue: 'old', owner: 'web-3:33', fetcher: 'reliable-fetch', ownerAlive: false, size: 1 },
    ]);
  });

  it('reads a bounded number of lists', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const pipeline = redis.pipeline();
    for (let i = 0; i < 5_000; i++) pipeline.rpush(`${keys.prefix}working:queue:q${i}:web-1:11:aa`, 'x');
    await pipeline.exec();

    const found = await findFetcherLists(redis, keys, [], 1_000);

    // SCAN pages until 1,000 are found: at most one page (about 1,000 keys) more.
    expect(found.length).toBeGreaterThanOrEqual(1_000);
    expect(found.length).toBeLessThan(2_500);
    // The shared server's other tests search its keyspace: leave it as it was.
    const cleanup = redis.pipeline();
    for (let i = 0; i < 5_000; i++) cleanup.del(`${keys.prefix}working:queue:q${i}:web-1:11:aa`);
    await cleanup.exec();
  });

  it('keeps a check from saying drained: draining while a live process can return them, stuck (exit 3) when none is left', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const p = keys.prefix;
    await redis.rpush(`${p}working:queue:default:web-1:11:aa`, job('default'));
    await redis.set(`${p}reliable-fetcher-heartbeat-web-1-11-aa`, '1', 'EX', 60);

    const working = await drainCheck(redis, keys, { now: at(NOW) });
    expect(working.remaining).toBe(1);
    expect({ ...working.verdict, reasons: ownReasons(working.verdict.reasons) }).toEqual({
      state: 'draining',
      reasons: ['1 job(s) are being worked on by live processes: they finish here, or fail into retry on this Redis'],
    });
    expect(ownExitCode(working)).toBe(0);

    // The worker died; another process (GitLab's reliable fetcher too) still runs here.
    await redis.del(`${p}reliable-fetcher-heartbeat-web-1-11-aa`);
    await heartbeat(redis, keys, 'web-9:99:ff', ['default'], { beatAt: NOW - 5 });
    const returning = await drainCheck(redis, keys, { now: at(NOW) });
    expect({ ...returning.verdict, reasons: ownReasons(returning.verdict.reasons) }).toEqual({
      state: 'draining',
      reasons: [
        `1 job(s) sit in the private lists of workers that are gone (${p}working:queue:default:web-1:11:aa 1): a live process with the same fetcher returns them to their queues on this Redis (GitLab's reliable fetcher within the hour)`,
      ],
    });
    expect(ownExitCode(returning)).toBe(0);

    // No live process left: nobody will.
    await redis.del(`${p}web-9:99:ff`);
    const stuck = await drainCheck(redis, keys, { now: at(NOW) });
    expect(stuck.remaining).toBe(1);
    expect(stuck.verdict.state).toBe('stuck');
    expect(ownReasons(stuck.verdict.reasons)).toEqual([
      `1 job(s) sit in the private lists of workers that are gone (${p}working:queue:default:web-1:11:aa 1), and no live Sidekiq process is here to put them back: start one with the same fetcher against this Redis (it returns them to their queues, GitLab's within the hour), then move them`,
    ]);
    expect(ownExitCode(stuck)).toBe(3);
  });

  it('with retired queues, counts only the jobs taken from them', async () => {
    const keys = new SidekiqKeys(uniquePrefix());
    const p = keys.prefix;
    await redis.rpush(`${p}working:queue:old:web-1:11:aa`, job('old'), job('old'));
    await redis.rpush(`${p}working:queue:new:web-1:11:aa`, job('new'));
    await redis.set(`${p}reliable-fetcher-heartbeat-web-1-11-aa`, '1', 'EX', 60);

    const report = await drainCheck(redis, keys, { now: at(NOW), retiredQueues: ['old'] });

    expect(report.fetched?.map((l) => [l.queue, l.size])).toEqual([['old', 2]]);
    expect(report.remaining).toBe(2);
  });
});
