// The target redis-server restarted mid-move, empty (no persistence): every job the run had
// written there and acknowledged on the source was gone with it. The run said its lock on the
// target "is gone (it expired, and another run may have taken and released it meanwhile) …
// (nothing is lost: run it again to resume)", and its retries named the empty server as a new
// target (a new target id). Now each page that meets it says the target lost its data, how much
// of this run's went with it, and what to do; exit 1, never "Complete", nothing written to it.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { cliBin } from '../support/cli-child.js';
import { runCli } from '../support/run-cli.js';
import { sourceAndRestartableTarget } from '../support/restartable-target.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { waitUntil } from '../support/wait-until.js';

const servers = sourceAndRestartableTarget();
const { restartTargetEmpty } = servers;
// Connected at its first command.
const client = (url: string) => servers.client(url, { lazyConnect: true });

/** The shipped CLI moving source → target slowly, in slices of 100 (a default page of 1,000 would move each queue of 500 in one slice); the target restarted empty once it acknowledged some of the jobs, while the CLI runs. */
async function moveWithTargetRestart(): Promise<{ code: number | null; stdout: string; stderr: string; midRun: boolean }> {
  const child = spawn(process.execPath, [cliBin, 'move', '--from', servers.source.url, '--to', servers.target.url, '--rate-limit', '100', '--page-size', '100'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let [stdout, stderr] = ['', ''];
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve, reject) => child.once('exit', resolve).once('error', reject));
  // Once a slice of queue:q0 was written and acknowledged: fewer than its 500 jobs left on the source, in flight or not.
  const watch = client(servers.source.url);
  const onSource = async () => (await watch.llen('queue:q0')) + (await Promise.all((await watch.keys('sidekiq-migrate:*:inflight:queue:q0')).map((k) => watch.llen(k)))).reduce((a, b) => a + b, 0);
  await waitUntil('a slice of queue:q0 is acknowledged', async () => child.exitCode !== null || (await onSource()) < 500);
  watch.disconnect();
  const midRun = child.exitCode === null;
  await restartTargetEmpty();
  return { code: await exited, stdout, stderr, midRun };
}

describe('the target restarted empty in the middle of a move', () => {
  it('fails saying the target lost its data and how many of the jobs written there went with it; never "Complete"; the rest stays on the source, each job once', { timeout: 120_000 }, async () => {
    const src = client(servers.source.url);
    const seeded: string[] = [];
    for (let q = 0; q < 4; q++) {
      const payloads = Array.from({ length: 500 }, (_, i) => sidekiqPayload({ className: 'A', queue: `q${q}`, args: `[${i}]` }));
      await src.lpush(`queue:q${q}`, ...payloads);
      seeded.push(...payloads.map((p) => jobEntry(`queue:q${q}`, p)));
    }
    await src.sadd('queues', 'q0', 'q1', 'q2', 'q3');

    const run = await moveWithTargetRestart();

    expect(run.midRun, 'restarted while the CLI ran').toBe(true);
    expect(run.code, run.stderr + run.stdout).toBe(1);
    expect(run.stdout).not.toContain('Complete');
    expect(run.stdout).not.toContain('nothing is lost');
    const url = servers.target.url.replace(/\./g, '\\.');
    // Each item that met it, in short; the summary once, in full.
    expect(run.stdout).toMatch(
      new RegExp(`\nFAILED queue q\\d: FatalError: The target ${url} lost its data \\(its target id \\S+ is gone: restarted empty, flushed or failed over\\); any job this run had written there and acknowledged before the loss went with it\\. This step wrote nothing\\.\n`),
    );
    // A restart that came between a slice's copy and its acknowledge (as it may: four queues are
    // under way) is found by that slice, written again: one line says both, and what may be gone.
    if (run.stdout.includes('lost the copy of')) {
      const atRisk = `queue:q\\d (?:[\\d]+ \\(acknowledged before the loss\\)|up to [\\d]+ \\(written during the run; whether before the loss, the run cannot tell\\))`;
      expect(run.stdout).toMatch(
        new RegExp(
          `\nFAILED execution (transfer-\\S+): TargetLostDataError: The target ${url} lost the copy of \\d+ job\\(s\\) during run \\1 after they were written there and before the source acknowledged them ` +
            `\\(it restarted without persistence, was flushed, or failed over to a replica that had not received them; its target id \\S+ is gone\\): they were still in flight on the source and were written there again, none lost\\. ` +
            `Jobs this run had written there and acknowledged on the source before that loss may be gone with it: ${atRisk}(?: · ${atRisk})*\\. Restore it from a backup if there is one\\.\n`,
        ),
      );
      expect(run.stdout.match(/TargetLostDataError/g)).toHaveLength(1);
    } else {
      expect(run.stdout).toMatch(
        new RegExp(
          `\nFAILED execution (transfer-\\S+): TargetLostDataError: The target ${url} lost its data during run \\1: the target id \\S+ its plan found there is gone ` +
            `\\(it restarted without persistence, was flushed, or failed over to a replica that had not received it\\)\\. ` +
            `The jobs this run had written there and acknowledged on the source are gone from it: restore it from a backup if there is one\\. This step wrote nothing there\\. ` +
            `To move the rest to it as it is now, run the same command again: it names the jobs still in flight for the lost data, and how to write them there\\.\n`,
        ),
      );
    }
    expect(run.stdout).toContain('Not complete');
    // No target id given to the empty server (a run's plan names it); the pages that were under way
    // when it restarted may have written their next slices there.
    const tgt = client(servers.target.url);
    expect(await tgt.exists('sidekiq-migrate:target-id')).toBe(0);
    // Every job once: on the source (queued or in flight), on the target (written after the
    // restart), or among those the summary counts as written that the restart took.
    const written = Number(/^total +[\d,]+ +([\d,]+) +0$/m.exec(run.stdout)![1]!.replace(/,/g, ''));
    const inflight = async () => {
      const entries: string[] = [];
      for (const key of await src.keys('sidekiq-migrate:*:inflight:*')) {
        const from = key.replace(/^sidekiq-migrate:[^:]+:inflight:/, '');
        for (const p of await src.lrangeBuffer(key, 0, -1)) entries.push(jobEntry(from, p));
      }
      return entries;
    };
    const onSource = [...(await jobsIn(src)), ...(await inflight())];
    const onTarget = await jobsIn(tgt);
    const everywhere = [...onSource, ...onTarget];
    expect(new Set(everywhere).size).toBe(everywhere.length);
    expect(everywhere.every((e) => seeded.includes(e))).toBe(true);
    const lost = written - onTarget.length;
    expect(lost).toBeGreaterThan(0);
    expect(everywhere.length + lost).toBe(seeded.length);

    // The way on that it names: the same command again; jobs in flight for the lost data are named
    // by their batch keys, and written once those are deleted. Then every job left is on the target, once.
    let again = await runCli('move', '--from', servers.source.url, '--to', servers.target.url);
    const batches = /delete their batch key\(s\) on the source \(([^)]+)\) and run again/.exec(again.stderr)?.[1];
    if (batches !== undefined) {
      expect(again.code).toBe(1);
      await src.del(...batches.split(' '));
      again = await runCli('move', '--from', servers.source.url, '--to', servers.target.url);
    }
    expect(again.stdout).toContain('Complete: everything that could be moved was moved.');
    expect(again.code).toBe(0);
    expect(await jobsIn(src)).toEqual([]);
    expect(await jobsIn(tgt)).toEqual(everywhere.sort());
  });
});
