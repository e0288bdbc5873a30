// A re-route page task (the CLI's `run --mapping`, the Lambdas) as the server sees it (issue #18):
// the run lock's renewal after each page rides in the round trip of the page's writes, sent right
// behind them on the same connection, so Redis runs it right after them, as when it waited for
// their reply, and it is checked before the next page writes. A stop that lands during a page is
// still seen after it: that page is the last. Every job moves once.
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RunStoppedError } from '../../../core/errors/run-stopped-error.js';
import { LuaScript } from '../../../core/redis/lua-script.js';
import { runStopMarkerKey } from '../../../core/redis/run-lock.js';
import { pageStep } from '../../../core/workflow/steps/page-step.js';
import { planStep } from '../../../core/workflow/steps/plan-step.js';
import { UrlConnections } from '../../../core/workflow/url-connections.js';
import type { ConnectionProvider } from '../../../core/workflow/connections.js';
import { jobEntry, jobsIn } from '../../support/exact-jobs.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { loadScripts, recording } from '../../support/recording-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
let connections: UrlConnections | undefined;
afterEach(async () => {
  await connections?.close();
});

function connect(): UrlConnections {
  const { source, target } = redis.urls();
  connections = new UrlConnections({ source: { url: source }, target: { url: target } });
  return connections;
}

const rerouteQueueJobs = new LuaScript('rerouteQueueJobs-n4');

/**
 * The provider's clients, each recording its pipelines (recording-redis.ts), by connection name.
 * `beforeWrites`: called with the connection just before a pipeline of queue writes goes out.
 */
function recordingProvider(provider: UrlConnections, beforeWrites?: (client: Redis) => void): ConnectionProvider & { events: (name: string) => string[] } {
  const clients = new Map<string, Redis & { events: string[] }>();
  return {
    events: (name) => clients.get(name)?.events ?? [],
    get: async (name) => {
      const connection = await provider.get(name);
      const recorder = clients.get(name) ?? recording(connection.redis);
      clients.set(name, recorder);
      const client = new Proxy(recorder, {
        get(target, prop) {
          if (prop !== 'pipeline' || !beforeWrites) return Reflect.get(target, prop) as unknown;
          return () => {
            const pipeline = target.pipeline();
            const exec = pipeline.exec.bind(pipeline);
            pipeline.exec = () => {
              const queued = (pipeline as unknown as { _queue: { name: string; args: unknown[] }[] })._queue;
              if (queued.some((c) => c.name === 'evalsha' && c.args[0] === rerouteQueueJobs.sha)) beforeWrites(connection.redis);
              return exec();
            };
            return pipeline;
          };
        },
      });
      return { ...connection, redis: client };
    },
  };
}

const budget = { deadline: Date.now() + 600_000 };
const PAGE = 200;
const JOBS = 5 * PAGE + 37; // 6 pages of each

/** JOBS jobs of A on queue:old and JOBS on schedule, as jobEntry prints them after the move to `new`. */
async function seed(client: Redis): Promise<{ moved: string[] }> {
  const moved: string[] = [];
  const queued: string[] = [];
  const scheduled: (string | number)[] = [];
  for (let i = 0; i < JOBS; i++) {
    queued.push(sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]`, jid: `q${i}` }));
    moved.push(jobEntry('queue:new', sidekiqPayload({ className: 'A', queue: 'new', args: `[${i}]`, jid: `q${i}` })));
    scheduled.push(2e9 + i, sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]`, jid: `s${i}` }));
    moved.push(jobEntry('schedule', sidekiqPayload({ className: 'A', queue: 'new', args: `[${i}]`, jid: `s${i}` }), String(2e9 + i)));
  }
  await client.sadd('queues', 'old');
  await client.lpush('queue:old', ...queued);
  await client.zadd('schedule', ...scheduled);
  return { moved: moved.sort() };
}

const plan = () => planStep({ runId: 'run-1', mode: 'reroute', routing: { kind: 'mapping', mapping: { A: 'new' } }, sets: ['schedule'], pageSize: PAGE }, connect());

describe("a re-route page task's round trips", () => {
  for (const kind of ['queue', 'set'] as const) {
    it(`${kind}: the run lock renewed in each page's write round trip; every job moved once`, async () => {
      const { moved } = await seed(redis.source());
      await loadScripts(redis.source());
      const planned = await plan();
      const item = planned.work.batch.find((i) => i.kind === kind)!;
      const provider = recordingProvider(connections!);

      const after = await pageStep({ settings: planned.settings, item }, provider, budget);

      expect(after).toMatchObject({ done: true, counters: { moved: JOBS } });
      const write = kind === 'queue' ? 'reroute' : 'rerouteSet';
      const events = provider.events('source').filter((e) => e.endsWith(` ${write}`) || e.endsWith(' renew'));
      // Each page's renewal goes out before its writes' reply is back (a set page of nothing but
      // this run's own rewrites writes nothing: its renewal goes alone, as before).
      const pages = events.filter((e) => e === '> renew').length;
      expect(pages).toBeGreaterThanOrEqual(6);
      const writes = events.flatMap((e, i) => (e === `> ${write}` ? [events.slice(i, i + 4)] : []));
      expect(writes.length).toBeGreaterThanOrEqual(6);
      for (const w of writes) expect(w).toEqual([`> ${write}`, '> renew', `< ${write}`, '< renew']);
      expect(events.join(' ').replaceAll(`> ${write} > renew < ${write} < renew`, '').replaceAll('> renew < renew', '').trim()).toBe('');
      const sameKind = moved.filter((e) => e.startsWith(kind === 'queue' ? 'queue:new' : 'schedule'));
      expect((await jobsIn(redis.source())).filter((e) => e.startsWith(kind === 'queue' ? 'queue:' : 'schedule'))).toEqual(sameKind);
    });
  }

  it('a stop that lands during a page is seen after it: that page is the last, every job once', async () => {
    const { moved } = await seed(redis.source());
    await loadScripts(redis.source());
    const planned = await plan();
    const item = planned.work.batch.find((i) => i.kind === 'queue')!;
    let writes = 0;
    // The stop marker is set just before the third page's writes go out (on the same connection,
    // so Redis runs it first): the renewal behind them sees it.
    const provider = recordingProvider(connections!, (client) => {
      if (++writes === 3) void client.set(runStopMarkerKey('', 'run-1'), '1');
    });
    expect(await redis.source().exists(runStopMarkerKey('', 'run-1'))).toBe(0);

    const failures: unknown[] = [];
    const after = await pageStep({ settings: planned.settings, item }, provider, { ...budget, onFailureAfterProgress: (error) => failures.push(error) });

    // The task returns the 3 pages it wrote, with the stop handed on (the state machine's Catch).
    expect(failures).toHaveLength(1);
    expect(failures[0]).toBeInstanceOf(RunStoppedError);
    expect(after).toMatchObject({ done: false, counters: { moved: 3 * PAGE } });
    const write = 'reroute';
    const events = provider.events('source').filter((e) => e.endsWith(` ${write}`) || e.endsWith(' renew'));
    expect(events.filter((e) => e === `> ${write}`)).toHaveLength(3);
    const queued = (await jobsIn(redis.source())).filter((e) => e.startsWith('queue:'));
    const done = moved.filter((e) => e.startsWith('queue:new'));
    // 3 pages moved (the newest 600 originals, `front`), the rest still on queue:old.
    expect(queued.filter((e) => e.startsWith('queue:new'))).toHaveLength(3 * PAGE);
    expect(queued.filter((e) => e.startsWith('queue:new')).every((e) => done.includes(e))).toBe(true);
    expect(queued.filter((e) => e.startsWith('queue:old'))).toHaveLength(JOBS - 3 * PAGE);
  });

  it('writes sent again after NOSCRIPT: the renewal goes again behind them, and a stop before them ends the task there', async () => {
    const { moved } = await seed(redis.source());
    await loadScripts(redis.source());
    const planned = await plan();
    const item = planned.work.batch.find((i) => i.kind === 'queue')!;
    let writes = 0;
    // Redis forgets the write script just before the second page's writes go out (a failover, a
    // SCRIPT FLUSH; the lock's script is loaded again at once): those writes come back NOSCRIPT
    // and are sent again once loaded. Just before they are, the run is stopped: the renewal sent
    // behind the first sending ran before the stop, so only one sent behind the second sees it.
    const provider = recordingProvider(connections!, (client) => {
      writes++;
      if (writes === 2) {
        void client.script('FLUSH');
        void client.script('LOAD', new LuaScript('renewRunLock-4').source);
      }
      if (writes === 3) void client.set(runStopMarkerKey('', 'run-1'), '1');
    });
    const failures: unknown[] = [];

    const after = await pageStep({ settings: planned.settings, item }, provider, { ...budget, onFailureAfterProgress: (error) => failures.push(error) });

    expect(writes).toBe(3);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toBeInstanceOf(RunStoppedError);
    expect(after).toMatchObject({ done: false, counters: { moved: 2 * PAGE } });
    const events = provider.events('source').filter((e) => e.endsWith(' reroute') || e.endsWith(' renew'));
    // Two pages, the second sent twice: a renewal right behind each sending.
    const sends = events.flatMap((e, i) => (e === '> reroute' ? [i] : []));
    expect(sends).toHaveLength(3);
    for (const i of sends) expect(events.slice(i, i + 2)).toEqual(['> reroute', '> renew']);
    const queued = (await jobsIn(redis.source())).filter((e) => e.startsWith('queue:'));
    expect(queued.filter((e) => e.startsWith('queue:new'))).toHaveLength(2 * PAGE);
    expect(queued.filter((e) => e.startsWith('queue:new')).every((e) => moved.includes(e))).toBe(true);
    expect(queued.filter((e) => e.startsWith('queue:old'))).toHaveLength(JOBS - 2 * PAGE);
  });
});
