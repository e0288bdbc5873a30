import { describe, expect, it } from 'vitest';
import { checkSidekiqPrefix } from '../../core/redis/sidekiq-prefixes.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { privateRedis } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { scanTwice } from '../support/scan-twice.js';

// SCAN may return a key more than once (while the server rehashes). The refusal of a wrong prefix
// counted the Sidekiq keys it saw under the others page by page: a key named twice was two keys,
// and the refusal said "(4 keys)" over two. Here every SCAN page names each of its keys twice.
const server = privateRedis();

describe('the refusal of a wrong prefix when SCAN returns every key twice', () => {
  it('counts each Sidekiq key under the other prefix once', async () => {
    const redis = server.client();
    await redis.rpush('resque:gitlab:queue:default', sidekiqPayload({ className: 'A', queue: 'default' }));
    await redis.zadd('resque:gitlab:retry', '1', sidekiqPayload({ className: 'B', queue: 'default' }));

    await expect(checkSidekiqPrefix(scanTwice(redis), new SidekiqKeys(''), { name: 'source redis://x', option: '--namespace' })).rejects.toThrow(
      'No Sidekiq data without a prefix on source redis://x, but Sidekiq keys are there under "resque:gitlab:" (2 keys): use --namespace resque:gitlab:. Nothing was touched.',
    );
  });
});
