import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { DRY_RUN_REWRITES_KEPT } from '../../core/reroute/set-page.js';
import { bufferIo } from '../support/buffer-io.js';
import { privateRedis } from '../support/private-redis.js';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { allJobs } from '../support/redis-snapshot.js';

// Two entries of a sorted set that differ only in their queue rewrite to the same bytes, and a
// sorted set holds one member once: the run moves the first and leaves the other where it was
// (a conflict), as it does an entry whose rewrite is in the set already. The dry run must say so.
const server = privateRedis();
const dir = mkdtempSync(join(tmpdir(), 'dry-conflicts-'));
const mapping = join(dir, 'mapping.json');
writeFileSync(mapping, JSON.stringify({ A: 'new' }));

const run = async (...args: string[]) => {
  const io = bufferIo();
  const code = await main(['node', 'sidekiq-migrate', 'run', '--redis', server.url(), '--mapping', mapping, '--no-queues', ...args], io);
  return { code, stdout: io.stdout(), stderr: io.stderr() };
};

const entry = (queue: string, n: number) => `{"retry":true,"queue":"${queue}","class":"A","args":[${n}],"jid":"j${n}"}`;

async function seed(pairs: number, alreadyThere: number, single: number): Promise<void> {
  const pipeline = server.client().pipeline();
  let n = 0;
  // The same job twice, retried from two queues: one of each pair is a conflict.
  for (let i = 0; i < pairs; i++, n++) pipeline.zadd('retry', String(2e9 + n), entry('a', n), String(2e9 + n + 0.5), entry('b', n));
  // A job whose rewrite is in the set already (the copy on `new` stays, already routed).
  for (let i = 0; i < alreadyThere; i++, n++) pipeline.zadd('retry', String(2e9 + n), entry('c', n), String(2e9 + n + 0.5), entry('new', n));
  for (let i = 0; i < single; i++, n++) pipeline.zadd('retry', String(2e9 + n), entry('a', n));
  await pipeline.exec();
}

const counts = (summary: { sets: { retry: Record<string, unknown> }; totals: { movedTo: unknown } }) => {
  const { scanned, moved, alreadyRouted, conflicts, unmapped, unparsable } = summary.sets.retry;
  return { scanned, moved, alreadyRouted, conflicts, unmapped, unparsable, movedTo: summary.totals.movedTo };
};

describe('a dry run counts the conflicts of a set as the run makes them', () => {
  it.each([25, 1000])('entries that rewrite to the same bytes, on the same page or pages apart (page size %i)', async (pageSize) => {
    await seed(100, 50, 50);
    const before = await keyValueSnapshot(server.client(), '');

    const dry = await run('--sets', 'retry', '--page-size', String(pageSize), '--dry-run', '--json');

    expect(dry.code).toBe(0);
    expect(await keyValueSnapshot(server.client(), '')).toEqual(before);
    const predicted = counts(JSON.parse(dry.stdout));
    expect(predicted).toEqual({ scanned: 350, moved: 150, alreadyRouted: 50, conflicts: 150, unmapped: 0, unparsable: 0, movedTo: { new: 150 } });

    const real = await run('--sets', 'retry', '--page-size', String(pageSize), '--json');

    expect(real.code).toBe(0);
    expect(counts(JSON.parse(real.stdout))).toEqual(predicted);
    // What stayed: one of each pair (on `a` or `b`), every `c` entry; nothing lost.
    const left = (await allJobs(server.client(), '')).filter((j) => j.key === 'retry' && !j.payload.includes('"queue":"new"'));
    expect(left).toHaveLength(150);
    expect((await allJobs(server.client(), '')).filter((j) => j.key === 'retry')).toHaveLength(350);
  });

  it('says so in words, and a run then says what it left', async () => {
    await seed(3, 1, 2);

    const dry = await run('--sets', 'retry', '--dry-run');
    const real = await run('--sets', 'retry');

    expect(dry.stdout).toContain('4 conflict(s): would be left in place, their bytes already in their set (or the rewrite of another entry moved before them).');
    // The conflicts' originals stay, naming b and c, which the routing retires and nobody fetches: said as such.
    const unheard = (verb: string) =>
      `Nobody fetches from 2 queue(s) that 4 schedule, retry or dead entries this run ${verb} in place name (b 3 · c 1): no live Sidekiq process runs on this Redis and the routing retires those queues, so once Sidekiq runs on it those entries land there when due (a dead one: when retried) and never run. Route their class (catalog, rules or mapping) and run again, or give those queues a listener (drain-check: "for queues nobody fetches" per set). The originals of this run's 4 conflict(s) may be among them: the same job is in its set already under its new queue, so no run moves them; delete them by hand once checked.`;
    expect(dry.stdout).toContain(unheard('would leave'));
    expect(dry.stdout).toContain('Dry run, nothing written: a run would move 5 job(s) and leave jobs behind: 4 left in place, 4 of them in sets for queues nobody fetches (see "Needs a look" above).');
    expect(real.stdout).toContain('4 conflict(s): left in place, their bytes already on the destination set.');
    expect(real.stdout).toContain(unheard('left'));
    expect(real.stdout).toContain('Done, but jobs were left behind: 4 left in place, 4 of them in sets for queues nobody fetches (see "Needs a look" above).');
  });

  it(`beyond ${DRY_RUN_REWRITES_KEPT.toLocaleString('en-US')} rewrites remembered in a set, says that the moves it counts after them were not fully checked`, async () => {
    await seed(0, 0, DRY_RUN_REWRITES_KEPT + 10);
    const before = await keyValueSnapshot(server.client(), '');

    const dry = await run('--sets', 'retry', '--page-size', '500', '--dry-run', '--json');
    const human = await run('--sets', 'retry', '--page-size', '500', '--dry-run');

    expect(await keyValueSnapshot(server.client(), '')).toEqual(before);
    expect(JSON.parse(dry.stdout).sets.retry).toMatchObject({ moved: DRY_RUN_REWRITES_KEPT + 10, conflicts: 0, uncheckedMoves: 10 });
    expect(human.stdout).toContain(`10 set entr(ies) counted as moved were checked for conflicts only against the first ${DRY_RUN_REWRITES_KEPT.toLocaleString('en-US')} rewrites of their set that this dry run remembers`);
  });
});
