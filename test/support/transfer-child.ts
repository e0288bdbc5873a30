// A transfer in its own process, for tests that kill it with SIGKILL mid-way.
//   node --import tsx test/support/transfer-child.ts SOURCE_URL TARGET_URL RUN_ID
// Prints one line per slice on stdout, so the parent knows it is working.
import { Redis } from 'ioredis';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { runTransfer } from '../../core/transfer/run-transfer.js';

const [sourceUrl, targetUrl, runId] = process.argv.slice(2) as [string, string, string];
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
  onPage: (key) => process.stdout.write(`${key}\n`),
});
source.disconnect();
target.disconnect();
