// A re-route run in its own process, for tests that kill it with SIGKILL mid-way.
//   node --import tsx test/support/reroute-child.ts REDIS_URL PREFIX
// Prints one line per page on stdout, so the parent knows it is working.
import { Redis } from 'ioredis';
import { runReroute } from '../../core/reroute/run-reroute.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { classRoutingPlan } from '../../core/routing/routing-plan.js';

const [url, prefix] = process.argv.slice(2) as [string, string];
const redis = new Redis(url, { protocol: 2 });
await runReroute({
  redis,
  keys: new SidekiqKeys(prefix),
  plan: classRoutingPlan(new Map([['A', 'new'], ['B', 'other']])),
  dryRun: false,
  sets: ['schedule', 'retry', 'dead'],
  queues: true,
  pageSize: 3,
  luaBatch: 2,
  onPage: (key) => process.stdout.write(`${key}\n`),
});
redis.disconnect();
