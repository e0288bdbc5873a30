import type { Command } from 'commander';
import { Redis } from 'ioredis';
import { buildGitLabRouting } from '../../core/routing/gitlab-routing.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import type { CliContext } from '../cli-context.js';
import { seedDemoData } from '../demo/seed-demo-data.js';
import { packageFile } from '../support/package-file.js';
import { assertRedisServerInstalled, startRedisServer } from '../support/redis-server-process.js';
import { runWorkflowFromCli } from '../workflow/run-workflow.js';

// Shipped with the package (package.json "files").
const CATALOG = 'test/fixtures/gitlab/all_queues.yml';
const RULES = 'examples/gitlab-routing-rules.yml';

export function registerDemoCommand(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .summary('re-route realistic GitLab jobs in a throwaway Redis, start to finish')
    .description(
      "Starts a throwaway redis-server on a free loopback port, seeds it with jobs as a GitLab instance with one queue per worker has them (queued, scheduled, retrying, dead; plus ActiveJob mails, a removed worker's job and unparsable payloads), adopts the docs' example routing rules, shows the plan, runs the migration through the local state machine, shows where every job went, and stops the server.",
    )
    .action(async () => {
      const { io } = ctx;
      assertRedisServerInstalled();
      const server = await startRedisServer();
      const redis = new Redis(server.url, { protocol: 2 });
      const connections = new UrlConnections({ source: { url: server.url } });
      try {
        const routing = buildGitLabRouting({ catalogPaths: [packageFile(CATALOG)], rules: { path: packageFile(RULES) } });
        const seed = await seedDemoData(redis, routing);
        const before = await countJobs(redis);
        io.out(`Throwaway Redis ${server.url} (pid ${server.pid}), seeded with ${before} jobs on ${seed.oldQueues.length + 2} queues and in schedule/retry/dead,\n`);
        io.out(`as GitLab kept them with one queue per worker. New routing rules (GitLab's docs example):\n`);
        for (const rule of routing.router.rules) io.out(`  ${JSON.stringify([rule.query.source, rule.queue])}\n`);
        const input = { mode: 'reroute', source: 'source', routing: { kind: 'mapping', mapping: Object.fromEntries(routing.mapping), liveQueues: [...routing.liveQueues] }, pageSize: 100 };

        io.out('\n== 1. The plan (a dry run: nothing is written)\n\n');
        await runWorkflowFromCli({ input: { ...input, runId: 'demo-plan', dryRun: true }, connections, handlers: ctx.handlersFor(connections), retryIntervalMs: ctx.retryIntervalMs, io, json: false, endpoint: server.url });
        io.out('\n== 2. The migration\n\n');
        ctx.exitCode = await runWorkflowFromCli({ input: { ...input, runId: 'demo-run' }, connections, handlers: ctx.handlersFor(connections), retryIntervalMs: ctx.retryIntervalMs, io, json: false, endpoint: server.url });

        io.out('\n== 3. Where every job is now\n\n');
        for (const [where, count] of await jobsByPlace(redis)) io.out(`  ${where.padEnd(40)} ${String(count).padStart(6)}\n`);
        const after = await countJobs(redis);
        io.out(`\n${after} jobs after, ${before} before: ${after === before ? 'none lost, none duplicated' : 'MISMATCH'}.\n`);
        io.out('Jobs nobody can route (the mail, the removed worker) and the unparsable payloads stayed where they were, byte for byte.\n');
        if (after !== before) ctx.exitCode = 1;
      } finally {
        await connections.close();
        redis.disconnect();
        await server.stop();
      }
    });
}

async function countJobs(redis: Redis): Promise<number> {
  let total = 0;
  for (const [, n] of await jobsByPlace(redis)) total += n;
  return total;
}

/** Jobs per queue list and per sorted set, largest first. */
async function jobsByPlace(redis: Redis): Promise<[string, number][]> {
  const places: [string, number][] = [];
  for (const key of await redis.keys('queue:*')) places.push([key, await redis.llen(key)]);
  for (const set of ['schedule', 'retry', 'dead']) places.push([set, await redis.zcard(set)]);
  return places.filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
}
