// A dry run writes nothing, so it carries its routing (and a selection's classes) in the run's
// settings, which travel in every state. Its input passed the 256 KiB check, but the plan's
// result — that routing beside the first batch, the tally and the plan's notes — did not:
// States.DataLimitExceeded at the plan, the same on AWS, with no word of what to do.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateRedis();
const dir = mkdtempSync(join(tmpdir(), 'cli-dry-inline-'));

describe('a dry run whose routing is too large to carry in every state', () => {
  it('is refused before anything is touched: exit 2, one message that says why and what to do', { timeout: 60_000 }, async () => {
    // ~259 KB of mapping: the execution input is under 256 KiB, the plan's result would not be.
    const mapping = Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`Gitlab::Some::Namespace::Worker${String(i).padStart(5, '0')}`, `queue_${i}`]));
    const file = join(dir, 'mapping.json');
    writeFileSync(file, JSON.stringify(mapping));
    await redis.client().rpush('queue:old', sidekiqPayload({ className: 'Gitlab::Some::Namespace::Worker00001', queue: 'old' }));
    await redis.client().sadd('queues', 'old');
    const before = await keyValueSnapshot(redis.client());

    const { code, stdout, stderr } = await runCli('run', '--redis', redis.url(), '--mapping', file, '--dry-run');

    expect(stderr).not.toContain('DataLimitExceeded');
    expect(stderr).toMatch(/^A dry run carries its routing in every state of the state machine \(it stores nothing\): this one is [\d,]+ bytes, over the 196,608 bytes it can carry\. /);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(await keyValueSnapshot(redis.client())).toEqual(before);
  });
});
