// `start --rollback R --dry-run` (deployed), and the local `rollback R --dry-run` on a machine other
// than the one R ran on, while R's local process was killed and its run lock has not expired yet
// (it holds up to 20 minutes: RUN_LOCK_TTL_MS).
//
// Defect (audit-rollbackrec): both were refused with "Run R is still running: … Dry-run the rollback
// again once R has ended (or stop it)": R never ends by itself, nothing tells when its lock goes,
// and there is no process to stop; the way to take R over at once (its own command again, on its
// machine) was not said. The plan Lambda cannot tell a killed local run from a live one (it is on
// another machine), so the refusal stays; its words now say when the lock expires, by the clock, and
// the takeover command, the deployed plan and the local command in the same words.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.js';
import { runLockKey } from '../../core/redis/run-lock.js';
import { planStep } from '../../core/workflow/steps/plan-step.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { bufferIo } from '../support/buffer-io.js';
import { killedAfterMoving } from '../support/cli-child.js';
import { FakeStepFunctions, REGION } from '../support/fake-step-functions.js';
import { jobsIn } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateRedis();
const dir = mkdtempSync(join(tmpdir(), 'cli-start-rollback-killed-'));
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

describe('a dry-run rollback of a local run that was killed, its lock unexpired', { timeout: 180_000 }, () => {
  it('deployed and local (another machine) are refused in the same words, saying until when the lock holds and how to take the run over', async () => {
    const client = redis.client();
    const pipeline = client.pipeline();
    for (let i = 0; i < 20_000; i++) pipeline.lpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
    await pipeline.sadd('queues', 'old').exec();
    const pid = await killedAfterMoving('run', '--redis', redis.url(), '--mapping', mappingFile, '--run-id', 'r1', '--page-size', '5');
    // r1 ran on an operator's machine: the plan Lambda (and any other machine) sees its lock so.
    const lock = JSON.parse((await client.get(runLockKey('')))!) as { host: string; pid: number; expiresAt: number };
    expect(lock.pid).toBe(pid);
    await client.set(runLockKey(''), JSON.stringify({ ...lock, host: 'ops-laptop-7' }), 'KEEPTTL');
    const until = new Date(lock.expiresAt).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
    const before = await jobsIn(client);

    expect((await start('--rollback', 'r1', '--dry-run', '--run-id', 'rbdry')).code).toBe(0);
    const refused = await deployedPlan();
    const local = await runCli('rollback', 'r1', '--redis', redis.url(), '--dry-run');

    const escaped = until.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(refused.error?.name).toBe('FatalError');
    expect(refused.error?.message).toMatch(
      new RegExp(
        `^Run r1 may still be running: source redis://127\\.0\\.0\\.1:\\d+ is locked by run r1 \\(reroute, ops-laptop-7 pid ${pid}, started .+\\), and a rollback of it is refused until it ends\\. A dry run now would count jobs it is still moving\\. ` +
          `Dry-run the rollback again once r1 has ended \\(or stop it\\)\\. ` +
          `If its process is gone \\(killed, or its machine down\\), its lock holds until ${escaped}: dry-run the rollback again after that, or take r1 over at once by running its command again on ops-laptop-7 \\(with --run-id r1: it resumes r1\\), then roll it back\\. Nothing was touched\\.$`,
      ),
    );
    expect(local).toMatchObject({ code: 1, stdout: '', stderr: `${refused.error?.message}\n` });
    expect(await jobsIn(client)).toEqual(before);
  });

  // audit-reviewb: a deployed execution's lock names the plan Lambda's sandbox as its host. A dry-run
  // plan that ran in that same warm sandbox took the holder for a live process of this machine and
  // said 'Run r1 is still running … (or stop it).' with no expiry, where any other sandbox said 'may
  // still be running' and when the lock expires: the execution may have ended (aborted, timed out)
  // without releasing it whatever sandbox asks.
  it('a deployed execution\'s holder is said the same from the sandbox that planned it: may still be running, until when its lock holds', async () => {
    const client = redis.client();
    const pipeline = client.pipeline();
    for (let i = 0; i < 20_000; i++) pipeline.lpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
    await pipeline.sadd('queues', 'old').exec();
    await killedAfterMoving('run', '--redis', redis.url(), '--mapping', mappingFile, '--run-id', 'r1', '--page-size', '5');
    // As a deployed execution's plan, run in this very sandbox (its host, its live process), took it.
    const lock = JSON.parse((await client.get(runLockKey('')))!) as { expiresAt: number };
    await client.set(runLockKey(''), JSON.stringify({ ...lock, host: hostname(), pid: process.pid, plannedBy: 'arn:aws:states:eu-west-1:123456789012:execution:sidekiq-migrate:r1' }), 'KEEPTTL');
    const until = new Date(lock.expiresAt).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
    const before = await jobsIn(client);

    expect((await start('--rollback', 'r1', '--dry-run', '--run-id', 'rbdry')).code).toBe(0);
    const refused = await deployedPlan();

    expect(refused.error?.name).toBe('FatalError');
    expect(refused.error?.message).toMatch(/^Run r1 may still be running: /);
    expect(refused.error?.message).toContain(`Dry-run the rollback again once r1 has ended (or stop it). If its execution ended without releasing its lock, the lock holds until ${until}: dry-run the rollback again after that. Nothing was touched.`);
    expect(await jobsIn(client)).toEqual(before);
  });
});
