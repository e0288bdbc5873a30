// A dry run carries its routing in every state (dry-run-carry.ts: up to 196,608 bytes of it, the
// rest of the largest state measured under 30 KB with short names). With queue names of 512 bytes,
// the most a run takes (queue-name-bytes.ts), the rest is no longer small: a batch's ten items name
// their queue and each destination they moved jobs to (8 KB of names an item), the tally its
// first fifty: a Map's output of 273,210 bytes, States.DataLimitExceeded, and a message telling to
// run it again (which fails the same way).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateRedis();
const dir = mkdtempSync(join(tmpdir(), 'cli-dry-long-'));
const long = (prefix: string, i: number) => `${prefix}${String(i).padStart(5, '0')}`.padEnd(512, 'x');

describe('a dry run with 512-byte queue names, carrying nearly all the routing it can', () => {
  it('finishes (it failed with States.DataLimitExceeded at the Map), names fewer destinations an item, and says so', { timeout: 300_000 }, async () => {
    // 360 classes, each to its own destination of 512 bytes: ~190 KB of mapping, under the 196,608
    // bytes a dry run carries. 40 queues of 512-byte names, each with jobs of 40 classes: each item
    // moves to 40 destinations (20 KB of names), a batch of ten beside the routing.
    const CLASSES = 360;
    const QUEUES = 40;
    const mapping = Object.fromEntries(Array.from({ length: CLASSES }, (_, i) => [`W${i}`, long('dest', i)]));
    const file = join(dir, 'mapping.json');
    writeFileSync(file, JSON.stringify(mapping));
    expect(Buffer.byteLength(JSON.stringify(mapping))).toBeGreaterThan(180_000);
    const c = redis.client();
    for (let q = 0; q < QUEUES; q++) {
      const name = long('old', q);
      const jobs = Array.from({ length: 40 }, (_, j) => sidekiqPayload({ className: `W${(q * 7 + j) % CLASSES}`, queue: name }));
      await c.rpush(`queue:${name}`, ...jobs);
      await c.sadd('queues', name);
    }
    const before = await keyValueSnapshot(c);

    const { code, stdout, stderr } = await runCli('run', '--redis', redis.url(), '--mapping', file, '--dry-run');

    expect(stderr).not.toContain('DataLimitExceeded');
    expect(code).toBe(0);
    expect(stdout).toContain('Dry run, nothing written: a run would move 1,600 job(s) and leave none behind.');
    // What was cut is said: how many jobs went to destinations not named, and why.
    const unnamed = /^\(other queues\): ([\d,]+) job\(s\) moved to queues not named one by one: each set or queue's counts travel in the state machine's states \(256 KiB each\), which name only so many destinations, and fewer in a dry run that carries a large routing in every state \(it stores nothing\): the same run without --dry-run names more\.$/m.exec(stdout);
    expect(unnamed).not.toBeNull();
    const moved = /^Moved to \(at least (\d+) queues\): (.*)$/m.exec(stdout)!;
    expect(moved[2]).toMatch(new RegExp(`; ${unnamed![1]} job\\(s\\) to queues the summary does not name$`));
    expect(Number(unnamed![1]!.replace(/,/g, ''))).toBeGreaterThan(0);
    expect(await keyValueSnapshot(c)).toEqual(before);
  });
});
