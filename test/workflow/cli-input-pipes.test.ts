import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliBin } from '../support/cli-child.js';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// A file given as a pipe (bash's `--redis-yml <(kubectl exec … cat config/redis.yml)`) can be read
// once. The refusals said with the options' problems (7aeeb0b8) read redis.yml before the command
// read it again: the second read found the pipe empty and a valid move was refused, exit 2.
const redis = privateSourceAndTarget();
const dir = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-input-pipes-'));

/** The shipped CLI run by bash, `ARGS` with each `PIPE:path` given as `<(cat path)`. */
function bashCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const words = args.map((a, i) => (a.startsWith('PIPE:') ? `<(cat "\${${i + 2}}")` : `"\${${i + 2}}"`));
  const script = `exec "$0" "$1" ${words.join(' ')}`;
  const values = args.map((a) => (a.startsWith('PIPE:') ? a.slice(5) : a));
  return new Promise((resolve) => {
    execFile('bash', ['-c', script, process.execPath, cliBin, ...values], { env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

describe('files given as pipes are read once', { timeout: 120_000 }, () => {
  it('move --from main --to shard --redis-yml <(cat redis.yml): moves, exit 0 (was: refused, the pipe read empty the second time)', async () => {
    const yml = join(dir, 'redis.yml');
    writeFileSync(yml, `production:\n  main:\n    url: ${redis.urls().source}\n  queues_shard_b:\n    url: ${redis.urls().target}\n`);
    const payload = sidekiqPayload({ className: 'A', queue: 'q', args: '[1]' });
    await redis.source().rpush('queue:q', payload);
    await redis.source().sadd('queues', 'q');

    const result = await bashCli('move', '--from', 'main', '--to', 'queues_shard_b', '--redis-yml', `PIPE:${yml}`);

    expect(result.stderr).not.toContain('expected GitLab');
    expect(result.code).toBe(0);
    expect(await jobsIn(redis.source())).toEqual([]);
    expect(await jobsIn(redis.target())).toEqual([jobEntry('queue:q', payload)]);
  });

  it('drain-check --redis main --redis-yml <(cat redis.yml): checks, exit 0', async () => {
    const yml = join(dir, 'redis-drain.yml');
    writeFileSync(yml, `production:\n  main:\n    url: ${redis.urls().source}\n`);

    const result = await bashCli('drain-check', '--redis', 'main', '--redis-yml', `PIPE:${yml}`, '--json');

    expect(result.stderr).not.toContain('expected GitLab');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ verdict: expect.anything() });
  });
});
