// A transfer in its own process, for tests that kill it with SIGKILL mid-way.
//   [TRANSFER_CHILD_RATE=jobs/s] node --import tsx test/support/transfer-child.ts SOURCE_URL TARGET_URL RUN_ID [CLASSES [PLACEMENT]]
// CLASSES: a comma-separated class selection (a selective transfer); PLACEMENT: front or append.
// Prints one line per slice on stdout, so the parent knows it is working.
import { Redis } from 'ioredis';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { runTransfer } from '../../core/transfer/run-transfer.js';

const [sourceUrl, targetUrl, runId, classes, placement] = process.argv.slice(2) as [string, string, string, string?, ('front' | 'append')?];
const source = new Redis(sourceUrl, { protocol: 2 });
const target = new Redis(targetUrl, { protocol: 2 });
await runTransfer({
  source,
  target,
  sourceKeys: new SidekiqKeys(''),
  targetKeys: new SidekiqKeys(''),
  runId,
  dryRun: false,
  sets: ['schedule', 'retry', 'dead'],
  queues: true,
  sliceSize: 3,
  // Short, so that the run that resumes after the kill need not wait long for the lock.
  lockTtlMs: 300,
  ...(classes === undefined ? {} : { classes: classes.split(',') }),
  ...(placement === undefined ? {} : { placement }),
  // A slower run (jobs per second), for a test that must act while it is still running.
  ...(process.env.TRANSFER_CHILD_RATE ? { rateLimit: Number(process.env.TRANSFER_CHILD_RATE) } : {}),
  onPage: (key) => process.stdout.write(`${key}\n`),
});
source.disconnect();
target.disconnect();
