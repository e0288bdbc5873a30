// `run --run-id quarantine --unmapped quarantine` lost jobs: a run keeps its records under
// `sidekiq-migrate:<run>:…` and the quarantine lists are `sidekiq-migrate:quarantine:<queue>`, so
// under the run id `quarantine` a retired queue named `moves` had its quarantine list in the run's
// record of moves. The Lua call that moved one job and quarantined another checked the key as a list
// and as a set (absent: both pass), wrote the record (a set), removed both jobs from queue:moves, and
// failed at the quarantine push (WRONGTYPE): the quarantined job was gone, and the run said only that
// the key held another type. Other such queues: `items` (the run's work list), `routing`… A run id
// that names one of the tool's own key families is refused now, before anything is touched.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobEntry, jobsIn, keyValueSnapshot, withQueue } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli as cli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateRedis();
const dir = mkdtempSync(join(tmpdir(), 'cli-run-id-reserved-'));
const mappingFile = join(dir, 'mapping.json');
writeFileSync(mappingFile, JSON.stringify({ A: 'new_a' }));

const refusal = (id: string) =>
  `--run-id: "${id}" is a name sidekiq-migrate keeps its own keys under (sidekiq-migrate:${id}:…), beside the keys of a run's records (sidekiq-migrate:RUN:…); choose another run id\n`;

describe('a run id that names one of the tool\'s own key families', { timeout: 60_000 }, () => {
  it('run --run-id quarantine is refused (exit 2, nothing touched); with another id the unmapped job is quarantined and the other moved, each once', async () => {
    const moved = sidekiqPayload({ className: 'A', queue: 'moves', args: '[1]' });
    const unmapped = sidekiqPayload({ className: 'Z', queue: 'moves', args: '[2]' });
    await redis.client().lpush('queue:moves', moved, unmapped);
    await redis.client().sadd('queues', 'moves');
    const before = await keyValueSnapshot(redis.client());

    for (const id of ['quarantine', 'drain-check', 'claim-marker']) {
      for (const dry of [[], ['--dry-run']]) {
        const refused = await cli('run', '--redis', redis.url(), '--mapping', mappingFile, '--unmapped', 'quarantine', '--run-id', id, ...dry);
        expect(refused.stdout, `${id} ${dry.join(' ')}`).toBe('');
        expect(refused.stderr, `${id} ${dry.join(' ')}`).toBe(refusal(id));
        expect(refused.code, `${id} ${dry.join(' ')}`).toBe(2);
        expect(await keyValueSnapshot(redis.client())).toEqual(before);
      }
    }

    const run = await cli('run', '--redis', redis.url(), '--mapping', mappingFile, '--unmapped', 'quarantine', '--run-id', 'quarantine-1');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Done, but jobs were left behind: 1 quarantined');
    expect(await jobsIn(redis.client())).toEqual([jobEntry('queue:new_a', withQueue(moved, 'moves', 'new_a'))]);
    expect(await redis.client().lrange('sidekiq-migrate:quarantine:moves', 0, -1)).toEqual([unmapped]);
  });

  // Every run's record of moves is `sidekiq-migrate:RUN:moves`: the quarantine list of a queue named
  // `moves` (sidekiq-migrate:quarantine:moves) was read as the record of a run `quarantine`, and
  // SMEMBERS of a list failed every rollback's plan ('the key holds another type … check the key
  // prefix', exit 1), its dry run too: no run on that Redis could be rolled back any more.
  it('a quarantine list of a queue named moves is no run\'s record: the rollback puts the run\'s jobs back', async () => {
    const moved = sidekiqPayload({ className: 'A', queue: 'moves', args: '[1]' });
    const unmapped = sidekiqPayload({ className: 'Z', queue: 'moves', args: '[2]' });
    await redis.client().lpush('queue:moves', moved, unmapped);
    await redis.client().sadd('queues', 'moves');
    const run = await cli('run', '--redis', redis.url(), '--mapping', mappingFile, '--unmapped', 'quarantine', '--run-id', 'r1');
    expect(run.code).toBe(0);
    expect(await redis.client().lrange('sidekiq-migrate:quarantine:moves', 0, -1)).toEqual([unmapped]);

    const before = await keyValueSnapshot(redis.client());
    const dry = await cli('rollback', 'r1', '--redis', redis.url(), '--dry-run');
    expect(dry.stderr).not.toContain('another type');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('Dry run, nothing written: a rollback would put back 1 job(s) and leave jobs behind: 1 in quarantine lists from earlier runs');
    expect(await keyValueSnapshot(redis.client())).toEqual(before);

    const back = await cli('rollback', 'r1', '--redis', redis.url());
    expect(back.stderr).not.toContain('another type');
    expect(back.code).toBe(0);
    expect(back.stdout).toContain('Done, but jobs were left behind: 1 in quarantine lists from earlier runs');
    expect(await jobsIn(redis.client())).toEqual([jobEntry('queue:moves', moved)]);
    expect(await redis.client().lrange('sidekiq-migrate:quarantine:moves', 0, -1)).toEqual([unmapped]);
  });
});
