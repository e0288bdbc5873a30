// Every payload a real Sidekiq 6.4.1 (and Rails 6.1 ActiveJob) wrote, read and rewritten.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { inspectJob } from '../../../core/payload/inspect-job.js';
import { rewriteQueue } from '../../../core/payload/rewrite-queue.js';
import {
  bytes,
  expectJob,
  expectOnlyQueueChanged,
  FIXTURE_DIR,
  fixtureFiles,
  parseJson,
  readFixture,
} from './payload-test-support.js';

const AJ = 'ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper';

interface ExpectedJob {
  readonly className: string;
  readonly queue: string;
  readonly wrapped: string | null;
  readonly jid: string;
  readonly enqueuedAtText: string | null;
  readonly activeJobQueueName: string | null;
}

// Values copied by hand from the fixture files (and sidekiq-reference.md §5), not computed.
const JOBS: Readonly<Record<string, ExpectedJob>> = {
  '01-plain-queued.json': job('PlainJob', 'default', '273100682fe4c0dfb6bee992', '1795459303.8460433'),
  '02-queued-with-options.json': job('PlainJob', 'critical', 'a30628ce66d7e2ac08ac939c', '1795459303.8467565'),
  '03-bulk-queued.json': job('PlainJob', 'bulk', '587e113ef3a4b2eb9016cbbb', '1795459303.8470986'),
  '04-scheduled.json': job('PlainJob', 'default', '53af7e974afc473d8ed8b0c0', null),
  '05-activejob-queued.json': {
    ...job(AJ, 'mailers', '03e4a95c2a785ad0972fc0bb', '1795459303.8487992'),
    wrapped: 'HarnessActiveJob',
    activeJobQueueName: 'mailers',
  },
  '06-activejob-scheduled.json': {
    ...job(AJ, 'default', '02e76e1666cb60353bfe5586', null),
    wrapped: 'HarnessActiveJob',
    activeJobQueueName: 'default',
  },
  '07-retry-first-failure.json': job('FlakyJob', 'default', '8226ad8c11638901fe2e879d', '1795459303.850327'),
  '08-requeued-by-poller-from-retry.json': job('FlakyJob', 'default', '8226ad8c11638901fe2e879d', '1795459305.8597908'),
  '09-dead-retries-exhausted.json': job('FlakyJob', 'default', '8226ad8c11638901fe2e879d', '1795459305.8597908'),
  '10-queued-after-retry-from-dead.json': job('FlakyJob', 'default', '8226ad8c11638901fe2e879d', '1795459305.8623445'),
  '11-retry-second-failure-with-backtrace.json': job('FlakyJob', 'low', '5ec9061e6b79a069f165fc89', '1795459307.877941'),
  '14-retry-made-by-server.json': job('FlakyJob', 'server', '73c9ca8b7e0e6b6903791906', '1795459307.8826842'),
};

// Process bookkeeping stored next to jobs: valid JSON objects, but not jobs, so never rewritten.
const NOT_JOBS = ['12-process-info.json', '13-busy-work-entry.json'];

function job(className: string, queue: string, jid: string, enqueuedAtText: string | null): ExpectedJob {
  return { className, queue, wrapped: null, jid, enqueuedAtText, activeJobQueueName: null };
}

const NEW_QUEUES = ['moved', 'urgent::mailers', 'ünïcödé ✓ 🚀', 'quote " back \\ slash / tab \t nl \n u2028 \u2028 del \x7f'];

describe('Sidekiq 6.4 fixture payloads', () => {
  it('covers every fixture file and every entry of index.txt', () => {
    // Prepare
    const indexed = readFileSync(`${FIXTURE_DIR}index.txt`, 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(' ')[0]);

    // Act
    const covered = [...Object.keys(JOBS), ...NOT_JOBS].sort();

    // Assess
    expect(covered).toEqual(fixtureFiles());
    expect(indexed.sort()).toEqual(fixtureFiles());
  });

  it.each(Object.entries(JOBS))('%s: inspectJob reads the routing fields', (file, expected) => {
    // Prepare
    const payload = readFixture(file);
    const parsed = parseJson(payload);

    // Act
    const fields = expectJob(inspectJob(payload));

    // Assess
    expect(fields).toMatchObject({ kind: 'job', ...expected, isActiveJob: expected.className === AJ });
    expect(fields.className).toBe(parsed.class);
    expect(fields.queue).toBe(parsed.queue);
    expect(fields.enqueuedAt).toBe(expected.enqueuedAtText === null ? null : Number(expected.enqueuedAtText));
    expect(payload.subarray(fields.spans.queue!.start, fields.spans.queue!.end).toString()).toBe(
      JSON.stringify(expected.queue),
    );
  });

  describe.each(Object.keys(JOBS))('%s: rewriteQueue', (file) => {
    it.each(NEW_QUEUES)('to %j changes only the queue value(s)', (newQueue) => {
      // Prepare
      const payload = readFixture(file);
      const fields = expectJob(inspectJob(payload));

      // Act
      const rewritten = rewriteQueue(payload, fields, newQueue);

      // Assess
      expectOnlyQueueChanged(payload, rewritten, newQueue, { queueNameToo: fields.isActiveJob });
    });

    it('leaves the input buffer untouched', () => {
      // Prepare
      const payload = readFixture(file);
      const copy = Buffer.from(payload);

      // Act
      rewriteQueue(payload, expectJob(inspectJob(payload)), 'elsewhere');

      // Assess
      expect(payload.equals(copy)).toBe(true);
    });
  });

  it.each(['05-activejob-queued.json', '06-activejob-scheduled.json'])(
    '%s: ActiveJob args[0].queue_name follows the queue, and only it',
    (file) => {
      // Prepare
      const payload = readFixture(file);
      const fields = expectJob(inspectJob(payload));

      // Act
      const rewritten = rewriteQueue(payload, fields, 'moved');

      // Assess
      const parsed = parseJson(rewritten) as { queue: string; args: [{ queue_name: string }] };
      expect(parsed.queue).toBe('moved');
      expect(parsed.args[0].queue_name).toBe('moved');
      expect(expectJob(inspectJob(rewritten)).activeJobQueueName).toBe('moved');
    },
  );

  it.each(['05-activejob-queued.json', '06-activejob-scheduled.json'])(
    '%s: with activeJobQueueName off, queue_name is left alone',
    (file) => {
      // Prepare
      const payload = readFixture(file);
      const fields = expectJob(inspectJob(payload));

      // Act
      const rewritten = rewriteQueue(payload, fields, 'moved', { activeJobQueueName: false });

      // Assess
      expectOnlyQueueChanged(payload, rewritten, 'moved', { queueNameToo: false });
      const parsed = parseJson(rewritten) as { args: [{ queue_name: string }] };
      expect(parsed.args[0].queue_name).toBe(fields.activeJobQueueName);
    },
  );

  it.each(NOT_JOBS)('%s: is not a job (missing-class), so it is never rewritten', (file) => {
    // Prepare
    const payload = readFixture(file);

    // Act
    const result = inspectJob(payload);

    // Assess
    expect(result).toEqual({ kind: 'unparsable', reason: 'missing-class' });
    expect(typeof parseJson(payload)).toBe('object');
  });

  it('13: the job inside the busy entry is a string, and its "queue" is not the top-level one', () => {
    // Prepare: the entry has a top-level queue, plus `\"queue\":\"server\"` inside `payload`.
    const payload = readFixture('13-busy-work-entry.json');
    const inner = bytes((parseJson(payload) as { payload: string }).payload);

    // Act
    const outer = inspectJob(payload);
    const job = expectJob(inspectJob(inner));

    // Assess
    expect(outer).toMatchObject({ kind: 'unparsable', reason: 'missing-class' });
    expect(job).toMatchObject({ className: 'SleepJob', queue: 'server', jid: '3a681a5497d5aad2f558a945' });
  });

  it.each(fixtureFiles())('%s: every proper prefix (a truncated payload) is invalid-json', (file) => {
    // Prepare
    const payload = readFixture(file);
    const reasons = new Set<string>();

    // Act
    for (let length = 0; length < payload.length; length++) {
      const result = inspectJob(payload.subarray(0, length));
      reasons.add(result.kind === 'job' ? 'job' : result.reason);
    }

    // Assess: cuts inside a multi-byte character are invalid UTF-8, all others invalid JSON.
    expect([...reasons].every((r) => r === 'invalid-json' || r === 'invalid-utf8')).toBe(true);
    expect(reasons.has('invalid-json')).toBe(true);
  });
});
