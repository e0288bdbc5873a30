import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { repoPath } from '../support/paths.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// A password given for a Redis that asks for none (a URL copied from another environment, a
// tunnel to the wrong server, a `requirepass` removed since) made ioredis print its own line on
// the operator's terminal, "[WARN] This Redis server's `default` user does not require a
// password, but a password was supplied", once per connection, beside our output and in no words
// of ours. It is now said once per server, in our words, naming the server without the secret,
// and the command goes on as before (the server takes every client without one).
const redis = privateSourceAndTarget();
const SECRET = 'not-needed-s3cret';
const withPassword = (url: string) => url.replace('redis://', `redis://:${SECRET}@`);
const host = (url: string) => url.replace(/^redis:\/\//, '');

let warn: ReturnType<typeof vi.spyOn>;
afterEach(() => {
  warn?.mockRestore();
  vi.unstubAllEnvs();
});

function warningFor(role: string, shown: string, given: string): string {
  return `warning: ${role} ${shown} asks for no password, but ${given} was given: the server took the connection without it. Check that this is the Redis you meant.\n`;
}

describe('a password for a Redis that asks for none', { timeout: 120_000 }, () => {
  it('drain-check, from the real executable: our one line on stderr, no ioredis line, never the password', async () => {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [repoPath('bin/sidekiq-migrate.js'), 'drain-check', '--redis', withPassword(redis.urls().source)], {
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SIDEKIQ_MIGRATE_'))),
      cwd: mkdtempSync(join(tmpdir(), 'unneeded-password-')),
    });

    expect(stderr).toBe(warningFor('Redis', `redis://:***@${host(redis.urls().source)}`, "the URL's password"));
    expect(stdout).toMatch(/^redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: DRAINED — 0 job\(s\) left: no Sidekiq data at all there /m);
    expect(stdout + stderr).not.toContain(SECRET);
  });

  it('run and move: once per server however many connections, in --json too (on stderr), the jobs moved as without it', async () => {
    warn = vi.spyOn(console, 'warn');
    const { source, target } = redis.urls();
    for (let i = 0; i < 3; i++) await redis.source().lpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
    await redis.source().sadd('queues', 'old');
    const dir = mkdtempSync(join(tmpdir(), 'unneeded-password-'));
    writeFileSync(join(dir, 'mapping.json'), JSON.stringify({ A: 'new' }));

    const ran = await runCli('run', '--redis', source, '--password', SECRET, '--mapping', join(dir, 'mapping.json'), '--json');
    const moved = await runCli('move', '--from', withPassword(source), '--to', withPassword(target), '--json');

    expect(ran.code).toBe(0);
    expect(ran.stderr).toBe(warningFor('source', source, 'the password given apart from the URL'));
    expect(JSON.parse(ran.stdout)).toMatchObject({ complete: true, totals: { moved: 3 } });
    expect(moved.code).toBe(0);
    expect(moved.stderr).toBe(warningFor('source', `redis://:***@${host(source)}`, "the URL's password") + warningFor('target', `redis://:***@${host(target)}`, "the URL's password"));
    expect(JSON.parse(moved.stdout)).toMatchObject({ complete: true, totals: { written: 3 } });
    expect(await redis.target().llen('queue:new')).toBe(3);
    expect(warn, 'ioredis printed nothing of its own').not.toHaveBeenCalled();
    for (const output of [ran, moved]) expect(output.stdout + output.stderr).not.toContain(SECRET);
  });

  it('a server that does ask for one still refuses a wrong one (exit 2), and takes the right one, saying nothing more', async () => {
    warn = vi.spyOn(console, 'warn');
    await redis.source().config('SET', 'requirepass', SECRET);
    try {
      const wrong = await runCli('drain-check', '--redis', redis.urls().source, '--password', 'wrong-one');
      const right = await runCli('drain-check', '--redis', withPassword(redis.urls().source), '--json');

      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toMatch(/^Redis redis:\/\/127\.0\.0\.1:\d+: authentication failed \(WRONGPASS/);
      expect(right.code).toBe(0);
      expect(right.stderr).toBe('');
      expect(JSON.parse(right.stdout)).toMatchObject({ remaining: 0 });
      expect(warn).not.toHaveBeenCalled();
    } finally {
      await redis.source().config('SET', 'requirepass', '');
    }
  });
});
