import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_ENTRIES, REPO_ROOT, type MigrationFunctionName } from '../../infra/constructs/migration-functions.js';
import { connectShared, sharedRedisUrl, uniquePrefix } from '../support/redis.js';
import { cdkJsonConfig, logicalId, resources, synthesize } from './support/stacks.js';

/**
 * The one test file that really bundles the handlers (NodejsFunction, local esbuild, no Docker),
 * as `cdk synth` does; the others synthesize stand-in code. The output goes under node_modules so
 * that the bundles resolve the external @aws-sdk/* packages as the Lambda runtime provides them.
 */
let outdir: string;
const redis = connectShared();
const assets = {} as Record<MigrationFunctionName, string>;

beforeAll(() => {
  const cache = join(REPO_ROOT, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  outdir = mkdtempSync(join(cache, 'sidekiq-migrate-bundles-'));
  const { app, stack, template } = synthesize(cdkJsonConfig(), { functionCode: 'bundled', outdir });
  app.synth();
  const functions = resources(template, 'AWS::Lambda::Function');
  for (const [name, fn] of Object.entries(stack.migration.functions.functions) as [MigrationFunctionName, never][]) {
    const code = functions[logicalId(fn, stack)]!.Properties['Code'] as { S3Key: string };
    assets[name] = join(outdir, `asset.${code.S3Key.replace(/\.zip$/, '')}`);
  }
  // Bundling every function takes 3-4 s each under load (three helpers saw 60 s run out at load ~30).
}, 180_000);
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('the bundled functions (esbuild, no Docker)', () => {
  it('are one ESM bundle per handler, with the createRequire banner, the AWS SDK left to the runtime, and the Lua scripts beside it', () => {
    const lua = readdirSync(join(REPO_ROOT, 'core', 'redis', 'lua')).sort();
    expect(Object.keys(assets).sort()).toEqual(Object.keys(FUNCTION_ENTRIES).sort());
    expect(new Set(Object.values(assets)).size).toBe(Object.keys(FUNCTION_ENTRIES).length);
    for (const [name, dir] of Object.entries(assets)) {
      expect(readdirSync(dir).sort(), name).toEqual(['index.mjs', 'index.mjs.map', 'lua']);
      expect(readdirSync(join(dir, 'lua')).sort(), name).toEqual(lua);
      const bundle = readFileSync(join(dir, 'index.mjs'), 'utf8');
      expect(bundle.startsWith("import { createRequire } from 'module';const require = createRequire(import.meta.url);"), name).toBe(true);
    }
    expect(readFileSync(join(assets.plan, 'index.mjs'), 'utf8')).toMatch(/from\s*"@aws-sdk\/client-secrets-manager"/);
  });

  it('run: plan takes the run lock and release-lock releases it (both Lua scripts loaded from the bundle), the drain check reports', async () => {
    // Sidekiq data under the prefix (the set of queue names, as Sidekiq keeps it): a plan refuses a
    // prefix with none while the shared server holds other tests' prefixes.
    const prefix = uniquePrefix();
    await redis.sadd(`${prefix}queues`, 'default');
    // Prepare: a runner that imports the bundles as Lambda would, with the environment the stack gives them.
    const runner = join(outdir, 'run-bundles.mjs');
    writeFileSync(
      runner,
      `const [plan, release, drain] = await Promise.all(process.argv.slice(2).map((p) => import(p)));
const context = { functionName: 'bundle-test', awsRequestId: 'r1', invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:bundle-test',
  memoryLimitInMB: '1024', functionVersion: '$LATEST', logGroupName: 'g', logStreamName: 's', getRemainingTimeInMillis: () => 60000 };
const planned = await plan.handler({ runId: 'bundle-test', mode: 'reroute', routing: { kind: 'renames', renames: { old: 'new' } } }, context);
const released = await release.handler({ settings: planned.settings }, context);
const report = await drain.handler({}, context);
console.log('RESULT ' + JSON.stringify({ items: planned.work.batch.map((i) => i.name), released, drain: report.verdict.state }));
process.exit(0);
`,
    );

    // Act
    const stdout = execFileSync(process.execPath, [runner, ...[assets.plan, assets.releaseLock, assets.drainCheck].map((d) => join(d, 'index.mjs'))], {
      env: { PATH: process.env['PATH'], SIDEKIQ_MIGRATE_SOURCE_URL: sharedRedisUrl(), SIDEKIQ_MIGRATE_SOURCE_PREFIX: prefix, POWERTOOLS_LOG_LEVEL: 'ERROR' },
      encoding: 'utf8',
      timeout: 30_000,
    });

    // Assess
    const result = JSON.parse(stdout.split('\n').find((l) => l.startsWith('RESULT '))!.slice('RESULT '.length)) as Record<string, unknown>;
    expect(result).toEqual({ items: ['schedule', 'retry', 'dead'], released: { released: true }, drain: 'drained' });
  });
});
