// A rollback named (--run-id) with the id of another run: a re-route, or a rollback of another run.
//
// Defect (audit-rollback): `rollback r1 --run-id r0`, r0 a finished re-route of class B, ran under
// r0's id and recorded its moves (A new → old) in r0's record of moves; r0's stored routing became
// the rollback's. `rollback r0` then moved every A job from old back to new (jobs r0 never moved)
// and said "Complete". The same with the id of a finished rollback of another run (its record then
// held both rollbacks' moves). The comparison of a run's routing with its first plan's
// (other-routing.ts runDiffers) let every rollback through ("a rollback chooses the run it resumes
// itself"), but the rollback command only checks a dead run of this machine. Now a rollback is
// compared too, by the run it rolls back: refused, exit 1, nothing touched, as `run` is.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli as cli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateRedis();
const dir = mkdtempSync(join(tmpdir(), 'cli-rollback-run-id-'));
const mappingA = join(dir, 'a.json');
const mappingB = join(dir, 'b.json');
writeFileSync(mappingA, JSON.stringify({ A: 'new' }));
writeFileSync(mappingB, JSON.stringify({ B: 'newb' }));

const refusal = (id: string) =>
  `Run ${id} (reroute) was started with other routing than this command's (its first plan fixed them for good): resumed with this one, it would move the rest of its jobs elsewhere than the jobs it moved, and its rollback record would mix both. ` +
  `Finish it with its own routing (its own command again, with --run-id ${id}), or roll it back (sidekiq-migrate rollback ${id}); or run this command without --run-id ${id}, as a new run (the jobs ${id} moved stay as it moved them). Nothing was touched.\n`;

describe('a rollback given the run id of another run', { timeout: 120_000 }, () => {
  it('is refused, touching nothing: a re-route, or a rollback of another run; the id of an earlier rollback of the same run is taken', async () => {
    const client = redis.client();
    await client.lpush('queue:old', ...[1, 2, 3].map((i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` })));
    await client.lpush('queue:oldb', sidekiqPayload({ className: 'B', queue: 'oldb' }));
    await client.sadd('queues', 'old', 'oldb');
    expect((await cli('run', '--redis', redis.url(), '--mapping', mappingB, '--run-id', 'r0')).code).toBe(0);
    expect((await cli('rollback', 'r0', '--redis', redis.url(), '--run-id', 'rb0')).code).toBe(0);
    expect((await cli('run', '--redis', redis.url(), '--mapping', mappingA, '--run-id', 'r1')).code).toBe(0);
    const before = await keyValueSnapshot(client);

    const underRun = await cli('rollback', 'r1', '--redis', redis.url(), '--run-id', 'r0');
    const underRunDry = await cli('rollback', 'r1', '--redis', redis.url(), '--run-id', 'r0', '--dry-run');
    const underRollback = await cli('rollback', 'r1', '--redis', redis.url(), '--run-id', 'rb0');

    expect(underRun).toEqual({ code: 1, stdout: '', stderr: refusal('r0') });
    expect(underRunDry).toEqual(underRun);
    expect(underRollback).toEqual({ code: 1, stdout: '', stderr: refusal('rb0') });
    expect(await keyValueSnapshot(client)).toEqual(before);
    expect(await client.smembers('sidekiq-migrate:r0:moves')).toEqual(['["B","oldb","newb"]']);

    // Under the id of an earlier rollback of the same run: taken, as a rollback run again is. That
    // one over some sets only (a rollback of every set and queue that left nothing behind is
    // recorded, and a rollback of its run again refused: cli-rollback-after-rolled-back-run).
    expect((await cli('rollback', 'r1', '--redis', redis.url(), '--run-id', 'rb1', '--sets', 'retry')).code).toBe(0);
    await client.lpush('queue:new', sidekiqPayload({ className: 'A', queue: 'new', args: '[4]' }));
    const again = await cli('rollback', 'r1', '--redis', redis.url(), '--run-id', 'rb1', '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ complete: true, totals: { moved: 1 } });
    expect(await client.llen('queue:new')).toBe(0);
    expect(await client.llen('queue:old')).toBe(4);
  });
});
