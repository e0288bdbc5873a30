import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { drainCheck } from '../../../core/drain/drain-check.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { repoPath } from '../../support/paths.js';
import { connectShared, uniquePrefix } from '../../support/redis.js';
import { heartbeat } from '../../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const redis = connectShared();
const NOW = 1_795_459_303;
const info = (file: string) => readFileSync(repoPath(`test/fixtures/sidekiq-heartbeats/${file}`), 'utf8').trim();

describe('the drain check reads the heartbeat of every Sidekiq version', () => {
  it.each([
    ['6.4-info.json', ['server']],
    ['7.3-info.json', ['critical', 'default', 'low']],
    ['8.1-info.json', ['critical', 'default', 'low']],
    ['capsules-only-info.json', ['critical', 'default', 'low']],
  ])('%s: the queues it names have a listener, others none', async (file, listened) => {
    const keys = new SidekiqKeys(uniquePrefix());
    for (const queue of [...listened, 'elsewhere']) await redis.lpush(keys.queue(queue), sidekiqPayload({ className: 'A', queue }));
    await heartbeat(redis, keys, 'vm:12992:2c2a7bf43670', [], { beatAt: NOW - 2, info: info(file) });

    const report = await drainCheck(redis, keys, { now: () => NOW * 1000 });

    expect(Object.fromEntries(report.queues.map((q) => [q.queue, q.listeners]))).toEqual({
      ...Object.fromEntries(listened.map((q) => [q, 1])),
      elsewhere: 0,
    });
    expect(report.orphans).toMatchObject({ queued: 1, queues: ['elsewhere'] });
  });
});
