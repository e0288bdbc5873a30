// A Redis whose maxclients are all taken (a Sidekiq fleet's connection pools can take them all):
// Redis writes "-ERR max number of clients reached" and closes each new connection. The shipped
// CLI said "write EPIPE", and then stayed alive 30 s after it (a command timeout ioredis arms and
// never clears). Now it names the refusal and exits at once; nothing is touched.
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoPath } from '../support/paths.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

let server: RedisServerHandle;
let holder: Redis;
beforeAll(async () => {
  server = await startRedisServer(['--maxclients', '1']);
  // The only connection the server takes.
  holder = new Redis(server.url, { protocol: 2 });
  await holder.ping();
});
afterAll(async () => {
  holder.disconnect();
  await server.stop();
});

/** The CLI as a child process; killed after 15 s (so a linger shows as a kill, not a hang). */
function cli(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [repoPath('bin/sidekiq-migrate.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(kill);
      resolve({ code, signal, stderr });
    });
  });
}

describe('a Redis with no client slot free (maxclients)', () => {
  it('says the server refused the connection and why, exits 1 by itself, and touches nothing', { timeout: 30_000 }, async () => {
    const job = sidekiqPayload({ className: 'A', queue: 'a', args: '[1]' });
    await holder.lpush('queue:a', job);

    const result = await cli(['run', '--redis', server.url, '--rename', 'a=b']);

    expect(result.signal).toBeNull();
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `Cannot connect to source ${server.url}: the server refused the connection: ERR max number of clients reached (its maxclients are all in use: Sidekiq processes and their connection pools count). Nothing was touched.\n`,
    );
    expect(await holder.lrange('queue:a', 0, -1)).toEqual([job]);
  });
});
