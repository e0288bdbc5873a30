// The Redis password changed while a re-route ran (CONFIG SET requirepass, then the connections
// dropped, as a rotation does): every command after the reconnection is refused. The CLI printed
// "Unexpected ReplyError in release-lock: ERR Protocol error: unauthenticated multibulk length"
// and nothing of a password. Now it says the server no longer accepts our credentials, exit 1,
// and the same command with the new password finishes the run, every job once.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { jobEntry, jobsIn, withQueue } from '../support/exact-jobs.js';
import { cliBin } from '../support/cli-child.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateRedis();

describe('the password changed in the middle of a run', () => {
  it('says the server no longer accepts our credentials; the same command with the new password finishes, every job once', { timeout: 120_000 }, async () => {
    const client = redis.client();
    const seeded: string[] = [];
    const rerouted: string[] = [];
    for (let batch = 0; batch < 20; batch++) {
      const payloads = Array.from({ length: 2_500 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${batch * 2_500 + i}]` }));
      await client.lpush('queue:old', ...payloads);
      seeded.push(...payloads.map((p) => jobEntry('queue:old', p)));
      rerouted.push(...payloads.map((p) => jobEntry('queue:new', withQueue(p, 'old', 'new'))));
    }
    await client.sadd('queues', 'old');

    const child = spawn(process.execPath, [cliBin, 'run', '--redis', redis.url(), '--rename', 'old=new', '--page-size', '50'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let [stdout, stderr, midRun] = ['', '', false];
    let changed: Promise<unknown> | undefined;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!changed && /[1-9][\d,]* moved/.test(stderr)) {
        midRun = child.exitCode === null;
        // A rotation: the new password, and the old connections dropped (ours among them; this client reconnects with AUTH below).
        changed = client.config('SET', 'requirepass', 'new-secret').then(() => client.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'));
      }
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    await changed;
    await client.auth('new-secret');
    try {
      expect(midRun, 'changed while the CLI ran').toBe(true);
      expect(code, stderr + stdout).toBe(1);
      expect(stderr + stdout).toMatch(/Redis no longer accepts our credentials \((NOAUTH|ERR Protocol error: unauthenticated)[^)]*\): its password or ACL user changed during the run\. Run the same command again with the current password\./);
      expect(stderr + stdout).not.toMatch(/Unexpected|Complete/);
      // Every job once: moved, or where it was.
      const now = await jobsIn(client);
      expect(now.length).toBe(seeded.length);
      const either = new Set([...seeded, ...rerouted]);
      expect(now.every((e) => either.has(e))).toBe(true);
      expect(new Set(now).size).toBe(now.length);

      const again = await runCli('run', '--redis', redis.url().replace('://', '://:new-secret@'), '--rename', 'old=new');
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toContain('Complete');
      expect(await jobsIn(client)).toEqual(rerouted.sort());
    } finally {
      await client.config('SET', 'requirepass', '');
    }
  });
});
