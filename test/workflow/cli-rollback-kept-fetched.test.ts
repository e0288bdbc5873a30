import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectExactJobs, jobEntry, withQueue } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';
import { waitUntil } from '../support/wait-until.js';

// A rollback drains a live queue (default) of the class it puts back and keeps every other class's
// jobs there. Its `front` pass counted what arrived as the list's length less the jobs it kept: a
// worker on default fetching one of those kept jobs hid a job of the class it puts back pushed
// there meanwhile (a node still on the wrong rules), and the rollback said "Complete" with that job
// still on default (audit-arrivedcount). Now the jobs above the highest kept job are what arrived.
const redis = privateRedis();
const dir = mkdtempSync(join(tmpdir(), 'cli-rollback-kept-fetched-'));

// Every job a worker fetches from the tail until it has fetched one of B's, then a producer's LPUSH: atomic, one call.
const FETCH_TO_B_THEN_PUSH = `
local fetched = {}
while true do
  local job = redis.call('RPOP', KEYS[1])
  if not job then break end
  fetched[#fetched + 1] = job
  if string.find(job, '"class":"B"', 1, true) then break end
end
redis.call('LPUSH', KEYS[1], ARGV[1])
return fetched`;

describe('rollback with a worker fetching one of the jobs it keeps on a live queue', { timeout: 180_000 }, () => {
  it('a job of the class it puts back pushed meanwhile is counted as arrived, not "Complete"', async () => {
    const client = redis.client();
    const mapping = join(dir, 'to-default.json');
    writeFileSync(mapping, JSON.stringify({ A: 'default' }));
    const a = (i: number, queue = 'old') => sidekiqPayload({ className: 'A', queue, args: `[${i}]`, jid: `a${String(i).padStart(23, '0')}` });
    const b = Array.from({ length: 3 }, (_, i) => sidekiqPayload({ className: 'B', queue: 'default', args: `[${i}]`, jid: `b${String(i).padStart(23, '0')}` }));
    const many = Array.from({ length: 3000 }, (_, i) => a(i));
    await client.lpush('queue:default', ...b);
    for (let i = 0; i < many.length; i += 500) await client.lpush('queue:old', ...many.slice(i, i + 500));
    await client.sadd('queues', 'old', 'default');
    expect((await runCli('run', '--redis', redis.url(), '--mapping', mapping, '--run-id', 'oops-1')).code).toBe(0);
    // The run put A's jobs first in line on default (the tail), below B's: the rollback's first
    // window reads B's and keeps them, then A's below them, newest first.
    const late = a(9000, 'default');

    const back = runCli('rollback', 'oops-1', '--redis', redis.url(), '--page-size', '10');
    await waitUntil('the first slice put jobs back', async () => (await client.llen('queue:old')) > 0);
    // A worker on default fetches every A left below the pass and the lowest B (a job the pass
    // kept); a node on the wrong rules pushes a job of A to default.
    const fetched = (await client.eval(FETCH_TO_B_THEN_PUSH, 1, 'queue:default', late)) as string[];
    const { code, stdout } = await back;

    const fetchedA = fetched.slice(0, -1);
    expect(fetched.at(-1)).toBe(b[0]);
    expect(fetchedA.length, 'the pass was under way: A jobs were still on default').toBeGreaterThan(0);
    const backOnOld = many.filter((p) => !fetchedA.includes(withQueue(p, 'old', 'default')));
    await expectExactJobs(client, '', [...[b[1]!, b[2]!, late].map((p) => jobEntry('queue:default', p)), ...backOnOld.map((p) => jobEntry('queue:old', p))]);
    expect(stdout).toContain('\n1 job(s) arrived during the rollback on the queues it drains, those run oops-1 moved jobs to (queue:default 1): not moved back by this rollback; roll back oops-1 again or see drain-check.\n');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs were left behind: 1 arrived during the rollback on the queues it drains (see "Needs a look" above).');
    expect(code).toBe(0);
  });
});
