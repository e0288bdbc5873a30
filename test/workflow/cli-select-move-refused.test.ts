import { describe, expect, it } from 'vitest';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { tempFileWriter } from '../support/temp-files.js';

// An operator's slip in the shard runbook: `--to main` for `--to "$STORE"` (or two store names
// resolving to one Redis). The plan refuses, exit 2, but a selective move had printed its plan
// per class first, on stdout: "Read 3 job(s) …: 2 to move", then the refusal. Exit code 2 promises
// the message alone, on stderr (README, Commands), and "to move" was not true.
const redis = privateSourceAndTarget();
const file = tempFileWriter('cli-select-move-refused-');

describe('a selective move the plan refuses', { timeout: 120_000 }, () => {
  it('prints the refusal alone (no plan per class), dry run or not, exit 2, nothing touched', async () => {
    const source = redis.source();
    await source.rpush('queue:default', sidekiqPayload({ className: 'PostReceive', args: '[1]' }), sidekiqPayload({ className: 'PostReceive', args: '[2]' }), sidekiqPayload({ className: 'Other', args: '[3]' }));
    await source.sadd('queues', 'default');
    const redisYml = file('redis.yml', `production:\n  queues:\n    url: "${redis.urls().source}"\n  queues_shard_catchall_b:\n    url: "${redis.urls().source}/0"\n`);
    const before = await keyValueSnapshot(source);

    for (const dry of [['--dry-run'], []]) {
      for (const to of ['main', 'queues_shard_catchall_b']) {
        const move = await runCli('move', '--from', 'main', '--to', to, '--redis-yml', redisYml, '--classes', 'PostReceive', ...dry);
        expect(move.code, move.stderr).toBe(2);
        expect(move.stdout).toBe('');
        expect(move.stderr.trim()).toMatch(/^source redis:\/\/\S+ and target redis:\/\/\S+ are the same Redis \(server run_id \w+, database 0, no prefix\): a transfer needs two different places\. To re-route inside one Redis, use run\. Nothing was touched\.$/);
      }
    }
    expect(await keyValueSnapshot(source)).toEqual(before);
  });
});
