import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { bufferIo } from '../support/buffer-io.js';
import { privateRedis } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// drain-check walks the keyspace (a SCAN call per 1,000 keys of the database, whatever it
// matches): for queue lists `queues` does not name, in-flight keys and quarantine lists, workers'
// private lists (two), sidekiq-cron namespaces, and, after its atomic look, once more for
// quarantine lists a concurrent `run --unmapped quarantine` created meanwhile (10161519). That
// late walk was a walk of its own: on 3,000,000 keys the check went from 41-51 s to 59-62 s. It
// now rides on the walk for sidekiq-cron namespaces, moved after the atomic look.
const server = privateRedis();
const FILLER = 40_000;

const scanCalls = (info: string) => Number(/^cmdstat_scan:calls=(\d+),/m.exec(info)?.[1] ?? 0);

describe('drain-check on a Redis of many other keys', { timeout: 120_000 }, () => {
  it('walks the keyspace five times, not six (plus the search for other prefixes among its first 20,000 keys), and still says DRAINED', async () => {
    const redis = server.client();
    await redis.sadd('queues', 'default');
    await redis.zadd('dead', '1', sidekiqPayload({ className: 'Gone', queue: 'default' }));
    const filler = redis.pipeline();
    for (let i = 0; i < FILLER; i++) filler.set(`cache:${i}`, '1');
    await filler.exec();
    // One walk of this keyspace, as the check's are (COUNT 1000): its calls.
    let walk = 0;
    let cursor = '0';
    do {
      [cursor] = await redis.scan(cursor, 'MATCH', 'sidekiq-migrate:*', 'COUNT', 1000);
      walk++;
    } while (cursor !== '0');
    await redis.config('RESETSTAT');

    const io = bufferIo();
    const code = await main(['node', 'sidekiq-migrate', 'drain-check', '--redis', server.url()], io);

    expect(io.stdout().split('\n')[0], io.stdout() + io.stderr()).toMatch(new RegExp(`^${server.url()}: DRAINED — `));
    expect(code).toBe(0);
    const scans = scanCalls(await redis.info('commandstats'));
    // The search for other prefixes reads the first 20,000 keys (PREFIX_SEARCH_KEYS): about 20 calls.
    const prefixSearch = Math.ceil(20_000 / 1_000) + 2;
    expect(scans, `${scans} SCAN calls, one walk ${walk}`).toBeLessThanOrEqual(5 * walk + prefixSearch + 5);
    expect(scans).toBeGreaterThanOrEqual(5 * walk);
  });
});
