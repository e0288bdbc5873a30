import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoPath } from '../support/paths.js';
import { privateRedis } from '../support/private-redis.js';

// The real executable, its progress read by a reader that goes away (`2>&1 | head -2`).
const redis = privateRedis();
const bin = repoPath('bin/sidekiq-migrate.js');
const job = (i: number) => `{"class":"HardWorker","queue":"old","args":[${i}],"jid":"${i.toString(16).padStart(24, '0')}","created_at":1.5,"enqueued_at":1.5}`;

describe('a run whose output nobody reads any more', () => {
  it('finishes the run and releases its lock, rather than dying of EPIPE between two pages', async () => {
    const client = redis.client();
    await client.sadd('queues', 'old');
    for (let i = 0; i < 3; i++) await client.rpush(`queue:old${i === 0 ? '' : i}`, ...Array.from({ length: 100 }, (_, j) => job(i * 1000 + j)));
    await client.sadd('queues', 'old1', 'old2');

    const child = spawn(process.execPath, [bin, 'run', '--redis', redis.url(), '--rename', 'old=new', '--rename', 'old1=new', '--rename', 'old2=new', '--page-size', '1'], { stdio: ['ignore', 'pipe', 'pipe'], cwd: '/' });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    // The reader of the progress leaves after its first lines.
    child.stderr.once('data', () => child.stderr.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));

    expect(code).toBe(0);
    expect(stdout).toContain('Complete: everything that could be moved was moved.');
    expect(await client.llen('queue:new')).toBe(300);
    expect(await client.exists('sidekiq-migrate:lock')).toBe(0);
  });
});
