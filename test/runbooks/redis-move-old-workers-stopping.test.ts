// docs/runbooks/redis-move.md, step 6: the old-side workers get their TERM (6.1), and the loop of
// 6.3 (`old-workers-gone`) waits until no Sidekiq process is left on the old Redis. Walking the
// runbook with real Sidekiq 6.4, the loop ran while the TERMed processes were still shutting down:
// the drain check found nothing left, waited for their beats, saw them stop meanwhile and said
// `not yet sure: … check again`, exit 1, with its report on stdout. The loop took that exit code
// for a failed check and stopped: `drain-check failed (exit code 1): not done`, though the next
// check would have said no process was left. A check that wrote its report is checked again; only
// one that wrote none (unreachable, bad input) stops the loop.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { repoPath } from '../support/paths.js';
import { privateRedis } from '../support/private-redis.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { prepareWorkDir, runShellBlock } from './support/run-shell-block.js';
import { runbookBlocks } from './support/runbook-blocks.js';

const NS = 'resque:gitlab:';
const IDENTITY = 'gitlab-sidekiq-old:4242:0a1b2c3d4e5f';
const redis = privateRedis();
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function block(id: string): string {
  return runbookBlocks(repoPath('docs/runbooks/redis-move.md'), 'redis-move.md').find((b) => b.id === id)!.code;
}

describe('redis-move.md step 6: the wait for no process on the old Redis, run right after the TERM', { timeout: 120_000 }, () => {
  it('a process that stops while the check waits for its beats: the loop checks again and says no process is left, never "drain-check failed"', async () => {
    const old = redis.client();
    const keys = new SidekiqKeys(NS);
    // The old Redis as step 6 leaves it: its queues empty, one old-side process live, shutting
    // down after its TERM: it beat a moment ago and beats no more until it leaves.
    await old.sadd(keys.queues, 'default');
    await heartbeat(old, keys, IDENTITY, ['default'], { beatAt: Date.now() / 1000 - 1, beating: false });
    const dir = mkdtempSync(join(tmpdir(), 'runbook-redis-move-stop-'));
    dirs.push(dir);
    const { bin } = prepareWorkDir(dir);

    const loop = runShellBlock(block('old-workers-gone'), {
      dir,
      bin,
      envFile: repoPath('test/fixtures/runbooks/redis-move/env.sh'),
      env: { RUNBOOK_OLD_REDIS_URL: redis.url(), RUNBOOK_NEW_REDIS_URL: redis.url() },
      timeoutMs: 100_000,
    });
    // The graceful stop ends while the first check waits for the process's beats (it waits up to
    // 30 s): Sidekiq takes itself out of `processes` and deletes its heartbeat.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await old.srem(keys.processes, IDENTITY);
    await old.del(`${NS}${IDENTITY}`);
    const result = await loop;

    expect(result.stderr).not.toContain('drain-check failed');
    expect(result.stdout).toContain('No Sidekiq process left on the old Redis.');
    expect(result.exitCode, result.stderr).toBe(0);
    expect((JSON.parse(readFileSync(join(dir, 'old-now.json'), 'utf8')) as { processes: unknown }).processes).toMatchObject({ live: 0, quiet: 0 });
  });
});
