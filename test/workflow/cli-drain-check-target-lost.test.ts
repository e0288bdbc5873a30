// A move completed, then its target restarted empty (no persistence; or a failover to a replica
// that never had the data): every job moved was gone, from the target and from the source. The
// drain check looked at the source only and said "DRAINED", exit code 0, the go-ahead to
// decommission the only Redis the jobs had been on. Given the move (--run-id) and its target
// (--to), it now also looks at the target's id and says plainly that the target lost what was
// moved: never DRAINED, exit code 1. A target that kept its data is said to, and the check drains.
import { describe, expect, it, vi } from 'vitest';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { runCli } from '../support/run-cli.js';
import { sourceAndRestartableTarget } from '../support/restartable-target.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const servers = sourceAndRestartableTarget();
const { client, restartTargetEmpty } = servers;

/** 30 jobs on queue:q of the source, moved by a completed run `m1`: their entries. */
async function moveThirtyJobs(): Promise<string[]> {
  const src = client(servers.source.url);
  const payloads = Array.from({ length: 30 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'q', args: `[${i}]` }));
  await src.lpush('queue:q', ...payloads);
  await src.sadd('queues', 'q');
  const moved = await runCli('move', '--from', servers.source.url, '--to', servers.target.url, '--run-id', 'm1');
  expect(moved.stdout).toContain('Complete: everything that could be moved was moved.');
  expect(moved.code, moved.stderr).toBe(0);
  expect(await jobsIn(src)).toEqual([]);
  const entries = payloads.map((p) => jobEntry('queue:q', p)).sort();
  expect(await jobsIn(client(servers.target.url))).toEqual(entries);
  return entries;
}

describe('drain-check given the move (--run-id, --to) also looks at its target', () => {
  it('a target that kept its data: DRAINED, exit 0, and the target said to carry the id the move found there', { timeout: 60_000 }, async () => {
    await moveThirtyJobs();
    const check = await runCli('drain-check', '--redis', servers.source.url, '--run-id', 'm1', '--to', servers.target.url);
    expect(check.stdout).toMatch(new RegExp(`^${servers.source.url.replace(/\./g, '\\.')}: DRAINED — 0 job\\(s\\) left\n`));
    expect(check.stdout).toMatch(new RegExp(`\nTarget of run m1: ${servers.target.url.replace(/\./g, '\\.')} still carries the target id \\S+ the run found there \\(it did not restart empty, nor was flushed, since\\)\\.\n`));
    expect(check.code, check.stderr).toBe(0);
  });

  it('a target restarted empty after the move: STUCK, saying it lost what the move wrote there, exit 1; without --run-id the source alone still drains', { timeout: 60_000 }, async () => {
    await moveThirtyJobs();
    const before = await runCli('drain-check', '--redis', servers.source.url, '--run-id', 'm1', '--to', servers.target.url, '--json');
    const plannedId = (JSON.parse(before.stdout) as { moveTarget: { plannedId: string } }).moveTarget.plannedId;
    await restartTargetEmpty();
    expect(await jobsIn(client(servers.target.url))).toEqual([]);

    // The source alone: drained it is, and the check says what it looked at.
    const sourceOnly = await runCli('drain-check', '--redis', servers.source.url);
    expect(sourceOnly.stdout).toContain(': DRAINED — 0 job(s) left');
    expect(sourceOnly.code).toBe(0);

    const check = await runCli('drain-check', '--redis', servers.source.url, '--run-id', 'm1', '--to', servers.target.url);
    const src = servers.source.url.replace(/\./g, '\\.');
    const tgt = servers.target.url.replace(/\./g, '\\.');
    expect(check.stdout).toMatch(
      new RegExp(
        `^${src}: STUCK — 0 job\\(s\\) left\n  - the target ${tgt} lost what run m1 moved there: its target id ${plannedId}, which the run found there, is gone ` +
          `\\(it restarted without persistence, was flushed, or failed over to a replica that had not received it\\)\\. The jobs the move wrote there are gone from it, and they are no longer on this Redis either: ` +
          `restore the target from a backup if there is one, and keep this Redis until you know what is lost; this is not a verdict of drained\n`,
      ),
    );
    expect(check.stdout).not.toContain('DRAINED');
    expect(check.code, check.stderr).toBe(1);

    const json = await runCli('drain-check', '--redis', servers.source.url, '--run-id', 'm1', '--to', servers.target.url, '--json');
    const report = JSON.parse(json.stdout) as { verdict: { state: string }; moveTarget: unknown };
    expect(report.verdict.state).toBe('stuck');
    expect(report.moveTarget).toEqual({ runId: 'm1', target: servers.target.url, plannedId, idNow: null, lost: true });
    expect(json.code).toBe(1);
    // Read only: nothing written to either side (no target id given to the empty server).
    expect(await client(servers.target.url).dbsize()).toBe(0);
  });

  it('a target that lost its data and was used again (a new id): said as lost, with the id it has now', { timeout: 60_000 }, async () => {
    await moveThirtyJobs();
    await restartTargetEmpty();
    await client(servers.target.url).set('sidekiq-migrate:target-id', 'another-id-0000');
    const check = await runCli('drain-check', '--redis', servers.source.url, '--run-id', 'm1', '--to', servers.target.url);
    expect(check.stdout).toMatch(/: STUCK — 0 job\(s\) left\n {2}- the target \S+ lost what run m1 moved there: its target id \S+, which the run found there, is now another-id-0000 \(/);
    expect(check.code).toBe(1);
  });

  it('a --to or --to-password kept for move (its environment variable) does not turn the look at a target on: the source alone, as before', async () => {
    await client(servers.source.url).sadd('queues', 'q');
    vi.stubEnv('SIDEKIQ_MIGRATE_TO_PASSWORD', 'for-move-only');
    try {
      const check = await runCli('drain-check', '--redis', servers.source.url);
      expect(check.stdout).toContain(': DRAINED — 0 job(s) left');
      expect(check.code, check.stderr).toBe(0);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('bad input: a run id the source has no record of, --run-id without --to, --to without --run-id: exit 2, one error naming it', async () => {
    await client(servers.source.url).sadd('queues', 'q');
    const unknown = await runCli('drain-check', '--redis', servers.source.url, '--run-id', 'nope', '--to', servers.target.url);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(`--run-id nope: ${servers.source.url} holds no record of that run`);
    expect(unknown.stdout).toBe('');
    const noTo = await runCli('drain-check', '--redis', servers.source.url, '--run-id', 'm1');
    expect(noTo.code).toBe(2);
    expect(noTo.stderr).toContain('required with --run-id: the Redis that move wrote to');
    const noRun = await runCli('drain-check', '--redis', servers.source.url, '--to', servers.target.url);
    expect(noRun.code).toBe(2);
    expect(noRun.stderr).toContain('required with --to: the run id of the move to it');
  });
});
