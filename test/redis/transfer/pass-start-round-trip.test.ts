// A transfer pass's first slice (issue #18): the key's length (the pass's bound) and the probe of
// its payloads' size (page-bytes.ts) are both reads, sent at once, one round trip before the claim;
// the probe waited for the count's reply before. The pass still moves every job once.
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { runTransfer } from '../../../core/transfer/run-transfer.js';
import { jobEntry, jobsIn } from '../../support/exact-jobs.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { commandRoundTrips, loadScripts } from '../../support/recording-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const job = (i: number) => sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]`, jid: i.toString(16).padStart(24, '0') });

describe("a transfer pass's first round trip", () => {
  for (const kind of ['queue', 'set'] as const) {
    it(`${kind}: the length and the size probe in one round trip, before the claim; every job moved once`, async () => {
      for (let i = 0; i < 7; i++) await (kind === 'queue' ? redis.source().lpush('queue:default', job(i)) : redis.source().zadd('retry', String(i), job(i)));
      await loadScripts(redis.source(), redis.target());
      const record = commandRoundTrips(redis.source());
      let events: string[];
      try {
        await runTransfer({ source: redis.source(), target: redis.target(), sourceKeys: keys, targetKeys: keys, runId: 'run-1', dryRun: false, sets: kind === 'set' ? ['retry'] : [], queues: kind === 'queue' ? ['default'] : false, sliceSize: 3 });
      } finally {
        events = record.stop();
      }
      const [size, probe] = kind === 'queue' ? ['LLEN', 'LRANGE'] : ['ZCARD', 'ZRANGE'];
      const at = events.indexOf(`> ${size}`);
      expect(at).toBeGreaterThan(0);
      // Both written before the first reply; the claim (EVALSHA) after both replies.
      expect(events.slice(at, at + 5)).toEqual([`> ${size}`, `> ${probe}`, `< ${size}`, `< ${probe}`, '> EVALSHA']);
      const moved = Array.from({ length: 7 }, (_, i) => (kind === 'queue' ? jobEntry('queue:default', job(i)) : jobEntry('retry', job(i), String(i)))).sort();
      expect(await jobsIn(redis.target())).toEqual(moved);
      expect(await jobsIn(redis.source())).toEqual([]);
    });
  }
});
