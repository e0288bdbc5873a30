// `queue:` (a queue with an empty name) is a list Sidekiq 6.0 and later never pushes to ("Job must
// include a valid queue name"), but an older client, or one in another language, may have. Queue
// discovery dropped that key without a word: `move` never carried its jobs and said they "arrived
// during the run: run move again" (no run ever moved them), and drain-check said DRAINED over them
// when `queues` did not name it. Refused now as a queue key of another type is, before anything
// is touched, naming the key.
import { describe, expect, it } from 'vitest';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();

const unnamed = sidekiqPayload({ className: 'A', queue: '', args: '[1]', jid: '000000000000000000000001' });
const plain = sidekiqPayload({ className: 'A', queue: 'q', args: '[2]', jid: '000000000000000000000002' });
const WORDS = 'queue: is the list of a queue with an empty name, which Sidekiq refuses (6.0 and later): no queue Sidekiq can use';

describe('a queue list with an empty name (`queue:`)', { timeout: 120_000 }, () => {
  it('move: exit 2 naming the key, the source untouched, no job on the target', async () => {
    const source = redis.source();
    await source.rpush('queue:', unnamed);
    await source.rpush('queue:q', plain);
    await source.sadd('queues', '', 'q');
    const before = await keyValueSnapshot(source, '');

    const { code, stdout, stderr } = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target);

    expect(stderr).toContain(`source ${redis.urls().source}: ${WORDS}`);
    expect(stdout).not.toContain('Complete');
    expect(code).toBe(2);
    expect(await keyValueSnapshot(source, '')).toEqual(before);
    // Refused before the target is named (its target-id) or any lock is taken.
    expect(await keyValueSnapshot(redis.target(), '')).toEqual({});
  });

  it('drain-check, with or without `queues` naming it: exit 2 naming the key, never DRAINED', async () => {
    await redis.source().rpush('queue:', unnamed);

    for (const named of [false, true]) {
      if (named) await redis.source().sadd('queues', '');
      const { code, stdout, stderr } = await runCli('drain-check', '--redis', redis.urls().source);

      expect(stderr).toContain(WORDS);
      expect(stdout).not.toContain('DRAINED');
      expect(code).toBe(2);
    }
  });

  it('run --rename q=r does not drain it: it runs and completes, `queue:` as it was', async () => {
    const source = redis.source();
    await source.rpush('queue:', unnamed);
    await source.rpush('queue:q', plain);
    await source.sadd('queues', '', 'q');

    const { code, stdout } = await runCli('run', '--redis', redis.urls().source, '--rename', 'q=r');

    expect(code).toBe(0);
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('Complete: everything that could be moved was moved.');
    expect(await source.lrange('queue:', 0, -1)).toEqual([unnamed]);
    expect(await source.lrange('queue:r', 0, -1)).toEqual([plain.replace('"queue":"q"', '"queue":"r"')]);
  });
});
