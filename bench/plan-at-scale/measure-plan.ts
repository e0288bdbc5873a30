// Times the plan step on a source whose keyspace is mostly other keys (caches, duplicate-job
// digests), and counts its SCAN calls and walks (SCAN with cursor 0) with MONITOR: how many
// times the plan walks every key of the database. Usage:
//   npx tsx bench/plan-at-scale/measure-plan.ts <source port> <target port> <other keys>
// Both redis-servers must run with `--enable-debug-command yes` (DEBUG POPULATE seeds the keys);
// they are flushed first.
import { Redis } from 'ioredis';
import { planStep } from '../../core/workflow/steps/plan-step.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';

const [sourcePort, targetPort, others] = process.argv.slice(2).map(Number);
const sourceUrl = `redis://127.0.0.1:${sourcePort}`;
const targetUrl = `redis://127.0.0.1:${targetPort}`;

async function seed(redis: Redis): Promise<void> {
  await redis.flushall();
  await redis.call('DEBUG', 'POPULATE', String(others), 'cache:digest');
  // A small Sidekiq (GitLab's layout since 16.7: no prefix): queues, sets, a cron definition.
  const p = redis.pipeline();
  for (let q = 0; q < 20; q++) {
    p.sadd('queues', `q${q}`);
    for (let j = 0; j < 5; j++) p.rpush(`queue:q${q}`, JSON.stringify({ class: 'A', queue: `q${q}`, args: [j], jid: `j${q}-${j}` }));
  }
  p.zadd('schedule', 1, JSON.stringify({ class: 'A', queue: 'q1', args: [], jid: 's1' }));
  p.zadd('retry', 1, JSON.stringify({ class: 'A', queue: 'q1', args: [], jid: 'r1' }));
  p.sadd('cron_jobs:default', 'cron_job:default:nightly');
  p.hset('cron_job:default:nightly', 'name', 'nightly', 'status', 'enabled', 'message', JSON.stringify({ class: 'A', queue: 'q2', args: [] }));
  await p.exec();
}

async function planOnce(input: Record<string, unknown>): Promise<number> {
  const provider = new UrlConnections({ source: { url: sourceUrl }, target: { url: targetUrl } });
  const started = process.hrtime.bigint();
  try {
    await planStep({ runId: `bench-${Date.now()}`, target: 'target', ...input }, provider);
  } finally {
    await provider.close();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  // What a plan leaves (its lock, list, records): gone before the next one (KEYS: outside the figures).
  const source = new Redis(sourceUrl);
  const ours = await source.keys('sidekiq-migrate:*');
  if (ours.length > 0) await source.del(...ours);
  source.disconnect();
  const target = new Redis(targetUrl);
  await target.flushall();
  target.disconnect();
  return seconds;
}

/** Timed without MONITOR (it slows the server); SCAN calls from INFO commandstats; walks from a second plan watched by MONITOR. */
async function measure(label: string, input: Record<string, unknown>): Promise<void> {
  const source = new Redis(sourceUrl);
  await source.config('RESETSTAT');
  const seconds = await planOnce(input);
  const calls = /cmdstat_scan:calls=(\d+)/.exec(await source.info('commandstats'))?.[1] ?? '0';
  const monitor = await source.duplicate().monitor();
  let walks = 0;
  monitor.on('monitor', (_time: string, args: string[]) => {
    if (args[0]?.toLowerCase() === 'scan' && args[1] === '0') walks++;
  });
  await planOnce(input);
  // MONITOR lags: wait for a marker sent after the plan.
  await new Promise<void>((resolve) => {
    monitor.on('monitor', (_t: string, args: string[]) => args[0]?.toLowerCase() === 'echo' && resolve());
    void source.echo('measure-plan-done');
  });
  monitor.disconnect();
  source.disconnect();
  console.log(`${label}: ${seconds.toFixed(1)} s, ${calls} SCAN calls, ${walks} walks of the keyspace`);
}

const source = new Redis(sourceUrl);
await seed(source);
await new Redis(targetUrl).flushall();
console.log(`source keys: ${await source.dbsize()}`);
source.disconnect();
await measure('transfer, dry run', { mode: 'transfer', dryRun: true });
await measure('transfer', { mode: 'transfer' });
await measure('re-route (a rename), dry run', { mode: 'reroute', routing: { kind: 'renames', renames: { q1: 'q1b' } }, dryRun: true });
process.exit(0);
