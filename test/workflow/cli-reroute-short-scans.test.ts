// Issue #18: every Redis call of a re-route short, since every Sidekiq client waits behind it. A
// set page of 1,000 entries of ~700 bytes read by one ZSCAN held Redis 1.4–2.8 ms (over the 2 ms
// ceiling); `run --mapping` now reads a page by calls of at most 200 entries
// (MAX_ENTRIES_PER_SCAN_CALL, page-bytes.ts): ZRANGE BYSCORE … LIMIT calls of a walk by score
// (set-page.ts), ZSCAN calls when a walk gives way to a scan. MONITOR shows what each read asked
// for; every job still moves exactly once.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_ENTRIES_PER_SCAN_CALL } from '../../core/redis/page-bytes.js';
import { expectExactJobs, jobEntry, withQueue } from '../support/exact-jobs.js';
import { monitorJobReads } from '../support/job-reads.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateRedis();
const dir = mkdtempSync(join(tmpdir(), 'cli-short-scans-'));
const mapping = join(dir, 'mapping.json');
writeFileSync(mapping, JSON.stringify({ A: 'new' }));
/** ~700 bytes, as the bench's GitLab-shaped payloads (and as many of them as one page takes). */
const job = (i: number, className: string, queue: string) =>
  sidekiqPayload({ className, queue, args: `[${i},"${'x'.repeat(560)}"]`, jid: String(i).padStart(24, '0') });

describe('run --mapping reads a set page by short calls', { timeout: 180_000 }, () => {
  it('no read of the set asks for more than 200 entries at the default page size (1,000), and every entry moves once', async () => {
    const source = redis.client();
    const expected: string[] = [];
    const seeding = source.pipeline();
    // 1,800 to move, 100 already routed, 100 of a class the mapping does not name.
    for (let i = 0; i < 2000; i++) {
      const [className, queue] = i % 20 === 0 ? ['A', 'new'] : i % 20 === 1 ? ['Z', 'old'] : ['A', 'old'];
      const payload = job(i, className!, queue!);
      const score = String(1.8e9 + i);
      seeding.zadd('schedule', score, payload);
      expected.push(jobEntry('schedule', queue === 'old' && className === 'A' ? withQueue(payload, 'old', 'new') : payload, score));
    }
    await seeding.exec();

    const watch = await monitorJobReads(redis.url());
    const run = await runCli('run', '--redis', redis.url(), '--mapping', mapping, '--json');
    const scans = (await watch.stop()).filter((r) => (r.command === 'zscan' || r.command === 'zrange') && r.key === 'schedule');

    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ complete: true, sets: { schedule: { moved: 1800, unmapped: 100 } }, totals: { moved: 1800 } });
    expect(MAX_ENTRIES_PER_SCAN_CALL).toBe(200);
    // 2,000 entries: at least ten calls, none asking for more.
    expect(scans.length).toBeGreaterThanOrEqual(10);
    for (const scan of scans) expect(scan.asked, JSON.stringify(scan)).toBeLessThanOrEqual(MAX_ENTRIES_PER_SCAN_CALL);
    await expectExactJobs(source, '', expected);
  });
});

