import { describe, expect, it } from 'vitest';
import { fakeContext } from './support/lambda-harness.js';
import { lambdaOnOwnServers } from './support/lambda-on-own-servers.js';

// The plan function at GitLab scale, given a wrong prefix: nothing under it, GitLab's
// `resque:gitlab:` keys among 2,000,000 others (caches, duplicate-job digests). Its look for
// Sidekiq data under the prefix was three SCANs of the whole keyspace (about a second a million
// keys each at loopback), unbounded: with 3 s left the task timed out (RetryableError, retried
// the same way), and the operator never heard the prefix was wrong. Its look has a quarter of the
// invocation's remaining time now, and cut short it still refuses the prefix, saying how far it
// looked.
const KEYS = 2_000_000;
const lambda = lambdaOnOwnServers({ sourceArgs: ['--enable-debug-command', 'local'], env: { SIDEKIQ_MIGRATE_SOURCE_PREFIX: 'p' } });

describe('the plan handler, a wrong prefix, on a source with 2,000,000 other keys and 3 s left', { timeout: 120_000 }, () => {
  it('refuses the prefix in time (InvalidInputError), saying its look stopped early; nothing touched', async () => {
    const { source, h } = lambda;
    // GitLab's leftovers: a queue list for each of its 2,000 queues, 0.1% of the keys.
    const leftovers = source.pipeline();
    for (let i = 0; i < 2_000; i++) leftovers.rpush(`resque:gitlab:queue:q${i}`, `{"class":"A","queue":"q${i}","args":[]}`);
    await leftovers.exec();
    await source.call('DEBUG', 'POPULATE', String(KEYS), 'cache:digest');
    const keys = await source.dbsize();

    const failure = h.plan({ runId: 'scale-1', mode: 'transfer', target: 'target', sets: ['schedule'] }, fakeContext(3_000));

    await expect(failure).rejects.toMatchObject({
      name: 'InvalidInputError',
      message: expect.stringMatching(
        /^No Sidekiq data found under the prefix "p:" on source redis:\/\/\S+ \(none of Sidekiq's own keys; its look for queue lists stopped after about [0-9,]+ of its 2,002,000 keys, its time out\), but Sidekiq keys are there under "resque:gitlab:" \([0-9]+ keys\): use --namespace resque:gitlab:\. Nothing was touched\.$/,
      ),
    });
    expect(await source.dbsize()).toBe(keys);
    expect(await source.lrange('resque:gitlab:queue:q7', 0, -1)).toEqual(['{"class":"A","queue":"q7","args":[]}']);
  });
});
