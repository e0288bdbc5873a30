import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/constructs/migration-functions.js';
import { CONFIG_FILE_CONTEXT_KEY } from '../../infra/stacks/deployment-config.js';
import { exampleConfig } from './support/stacks.js';

/**
 * Deploys the stack to LocalStack with cdklocal (as `npm run deploy:local` does) and runs an
 * execution through the Step Functions API.
 *
 * Skipped unless LOCALSTACK_ENDPOINT is set (e.g. http://localhost:4566): LocalStack runs in
 * Docker, and neither CI nor the development machines have a Docker engine, so this suite is for
 * a developer who has one. It also needs a Redis without TLS that LocalStack's Lambda containers
 * reach at LOCALSTACK_REDIS_HOST (default host.docker.internal) : LOCALSTACK_REDIS_PORT (6379):
 * LocalStack's free edition has no ElastiCache, so the stack points at an external endpoint
 * (infra/stacks/examples/localstack.json).
 */
const endpoint = process.env['LOCALSTACK_ENDPOINT'];
const STACK = 'SidekiqMigrateLocal';

describe.skipIf(!endpoint)('the stack deployed to LocalStack', () => {
  const cdklocal = join(REPO_ROOT, 'node_modules', '.bin', 'cdklocal');
  let dir = '';
  const context = () => ['-c', `${CONFIG_FILE_CONTEXT_KEY}=${join(dir, 'config.json')}`];
  const url = new URL(endpoint ?? 'http://localhost:4566');
  const env = {
    ...process.env,
    AWS_ENDPOINT_URL: url.origin,
    // cdklocal needs an S3 endpoint whose host contains ".s3." to tell S3 requests apart.
    AWS_ENDPOINT_URL_S3: process.env['LOCALSTACK_S3_ENDPOINT'] ?? `${url.protocol}//s3.localhost.localstack.cloud:${url.port || '4566'}`,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_REGION: 'us-east-1',
  };
  let stateMachineArn = '';

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-localstack-'));
    const config = exampleConfig('localstack');
    const source = { external: { host: process.env['LOCALSTACK_REDIS_HOST'] ?? 'host.docker.internal', port: Number(process.env['LOCALSTACK_REDIS_PORT'] ?? 6379), cidr: '0.0.0.0/0' }, tls: false };
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, source }));
    const run = (...args: string[]) => execFileSync(cdklocal, [...args, ...context()], { cwd: REPO_ROOT, env, stdio: 'inherit', timeout: 15 * 60_000 });
    run('bootstrap');
    run('deploy', STACK, '--require-approval', 'never', '--outputs-file', join(dir, 'outputs.json'));
    stateMachineArn = (JSON.parse(readFileSync(join(dir, 'outputs.json'), 'utf8')) as Record<string, Record<string, string>>)[STACK]!['StateMachineArn']!;
  }, 20 * 60_000);

  afterAll(() => {
    if (!dir) return;
    try {
      execFileSync(cdklocal, ['destroy', STACK, '--force', ...context()], { cwd: REPO_ROOT, env, stdio: 'inherit', timeout: 10 * 60_000 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 11 * 60_000);

  it('runs a dry-run re-route execution through the Step Functions API to success', async () => {
    // Prepare
    const sfn = new SFNClient({ endpoint: url.origin, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
    const runId = `localstack-${Date.now()}`;

    // Act
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, input: JSON.stringify({ runId, mode: 'reroute', dryRun: true, routing: { kind: 'renames', renames: { 'old-queue': 'new-queue' } } }) }),
    );
    let execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    for (const deadline = Date.now() + 5 * 60_000; execution.status === 'RUNNING' && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 2000));
      execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    }

    // Assess
    expect(execution.status, execution.cause ?? execution.error).toBe('SUCCEEDED');
    expect(JSON.parse(execution.output ?? '{}')).toMatchObject({ runId, mode: 'reroute', dryRun: true, failures: [] });
  }, 6 * 60_000);
});
