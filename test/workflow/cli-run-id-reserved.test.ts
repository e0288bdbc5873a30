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
});
