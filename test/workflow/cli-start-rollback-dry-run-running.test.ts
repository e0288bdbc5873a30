// `start --rollback R --dry-run` (deployed) while run R, or a rollback of R, is still running.
//
// Defect (audit-rbdeployed): the local `rollback R --dry-run` is refused then (7b70fa1f, 4338d007),
// but the deployed one was not: its CLI cannot see the run's lock, and its plan step did not look.
// The execution counted a moving target, as the local dry run did before: a part of the jobs R was
// still moving, its own moves named as jobs that "arrived". Now the plan step of every dry-run
// rollback reads the source's run lock (renewed while its holder runs, wherever it was started)
// and refuses in the local command's words. The input `start` hands on goes to the plan step as
// the plan Lambda runs it (functions/plan.ts: planStep with the deployment's connections).
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.js';
import { planStep } from '../../core/workflow/steps/plan-step.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { bufferIo } from '../support/buffer-io.js';
import { movedSome } from '../support/cli-child.js';
import { FakeStepFunctions, REGION } from '../support/fake-step-functions.js';
import { repoPath } from '../support/paths.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateRedis();
const dir = mkdtempSync(join(tmpdir(), 'cli-start-rollback-dry-'));
const mappingFile = join(dir, 'mapping.json');
writeFileSync(mappingFile, JSON.stringify({ A: 'new' }));

let fake: FakeStepFunctions;
beforeEach(() => {
  vi.stubEnv('AWS_REGION', REGION);
  fake = new FakeStepFunctions();
});
afterEach(() => {
  fake.restore();
  vi.unstubAllEnvs();
});

const start = async (...args: string[]) => {
  const io = bufferIo();
  const code = await main(['node', 'sidekiq-migrate', 'start', ...args], io, undefined, { sleep: fake.sleep, now: fake.now, retryIntervalMs: 0 });
  return { code, stdout: io.stdout(), stderr: io.stderr() };
};

/** The plan Lambda's step on the input `start` handed Step Functions: its error, or its output. */
async function deployedPlan(): Promise<{ error?: Error; itemCount?: number }> {
  const connections = new UrlConnections({ source: { url: redis.url() } });
  try {
    const plan = await planStep(fake.started.at(-1)!.input, connections, { executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:sidekiq-migrate:rbdry' });
    return { itemCount: plan.itemCount };
  } catch (error) {
    return { error: error as Error };
  } finally {
    await connections.close();
  }
}

async function seed(): Promise<void> {
  const client = redis.client();
  const pipeline = client.pipeline();
  for (let i = 0; i < 20_000; i++) pipeline.lpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
  await pipeline.sadd('queues', 'old').exec();
}

function spawnCli(args: string[]) {
  const child = spawn(process.execPath, [repoPath('bin/sidekiq-migrate.js'), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited };
}

describe('start --rollback R --dry-run while R, or a rollback of R, still runs', { timeout: 180_000 }, () => {
  it('run R still moving: the execution is refused by its plan, in the local words; once R has ended, its plan goes on', async () => {
    await seed();
    const { child, exited } = spawnCli(['run', '--redis', redis.url(), '--mapping', mappingFile, '--run-id', 'r1', '--page-size', '5']);
    await movedSome(child);

    const started = await start('--rollback', 'r1', '--dry-run', '--run-id', 'rbdry');
    expect(started.code, started.stderr).toBe(0);
    const refused = await deployedPlan();
    const stillRunning = (await redis.client().llen('queue:old')) > 0;

    expect(stillRunning, 'r1 was still moving jobs when the dry run was refused').toBe(true);
    expect(refused.error?.name).toBe('FatalError');
    expect(refused.error?.message).toMatch(
      /^Run r1 is still running: source redis:\/\/127\.0\.0\.1:\d+ is locked by run r1 \(reroute, .+ pid \d+, started .+\), and a rollback of it is refused until it ends\. A dry run now would count jobs it is still moving\. Dry-run the rollback again once r1 has ended \(or stop it\)\. Nothing was touched\.$/,
    );
    // The local command says the same words (its connection named, as here, by its URL).
    const local = await runCli('rollback', 'r1', '--redis', redis.url(), '--dry-run');
    expect(local).toMatchObject({ code: 1, stdout: '', stderr: `${refused.error?.message}\n` });

    expect(await exited).toBe(0);
    await start('--rollback', 'r1', '--dry-run', '--run-id', 'rbdry2');
    const after = await deployedPlan();
    expect(after.error).toBeUndefined();
    expect(after.itemCount).toBeGreaterThan(0);
  });

  it('a rollback rb1 of R still putting back: the execution is refused by its plan, naming rb1', async () => {
    await seed();
    expect((await runCli('run', '--redis', redis.url(), '--mapping', mappingFile, '--run-id', 'r1')).code).toBe(0);
    const { child, exited } = spawnCli(['rollback', 'r1', '--redis', redis.url(), '--run-id', 'rb1', '--page-size', '5']);
    await movedSome(child);

    await start('--rollback', 'r1', '--dry-run', '--run-id', 'rbdry');
    const refused = await deployedPlan();
    const stillRunning = (await redis.client().llen('queue:new')) > 0;

    expect(stillRunning, 'rb1 was still putting jobs back when the dry run was refused').toBe(true);
    expect(refused.error?.message).toMatch(
      /^Rollback rb1 of run r1 is still running: source redis:\/\/127\.0\.0\.1:\d+ is locked by run rb1 \(reroute, .+ pid \d+, started .+\), and a rollback of r1 is refused until it ends\. A dry run now would count jobs it is still putting back\. Dry-run the rollback again once rb1 has ended \(or stop it\)\. Nothing was touched\.$/,
    );
    expect(await exited).toBe(0);
  });
});
