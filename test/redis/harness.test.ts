import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { assertRedisServerInstalled, startRedisServer, startRedisServers } from '../support/redis-server.js';
import { sharedRedisUrl, uniquePrefix } from '../support/redis.js';

/** The pids of the redis-server processes this test process started and that still run, sorted. */
function childRedisServers(): number[] {
  const ps = spawnSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' }).stdout;
  return ps.split('\n').filter((line) => /redis-server/.test(line)).map((line) => Number(line.trim().split(/\s+/)[0])).sort((a, b) => a - b);
}

describe('the real-Redis test harness', () => {
  it('runs two shared servers on distinct free loopback ports, never 6379', async () => {
    const urls = [sharedRedisUrl('source'), sharedRedisUrl('target')];
    const ports = urls.map((u) => Number(new URL(u).port));
    expect(new Set(ports).size).toBe(2);
    expect(ports).not.toContain(6379);
    for (const url of urls) {
      expect(new URL(url).hostname).toBe('127.0.0.1');
      const client = new Redis(url, { protocol: 2 });
      // Assess: each answers, and they are different servers (distinct run ids).
      expect(await client.ping()).toBe('PONG');
      await client.quit();
    }
    const ids = await Promise.all(
      urls.map(async (url) => {
        const client = new Redis(url, { protocol: 2 });
        const info = await client.info('server');
        await client.quit();
        return /run_id:(\w+)/.exec(info)?.[1];
      }),
    );
    expect(ids[0]).not.toBe(ids[1]);
    const pids = inject('redisPids');
    expect(pids.source).not.toBe(pids.target);
  });

  it('starts a private server and stops it by pid', async () => {
    const server = await startRedisServer();
    const client = new Redis(server.url, { protocol: 2 });
    const info = await client.info('server');
    expect(info).toContain(`process_id:${server.pid}`);
    client.disconnect();

    await server.stop();

    // Assess: signal 0 probes for the process; it is gone.
    expect(() => process.kill(server.pid, 0)).toThrow();
  });

  it('starts servers together, and stops the ones started (by pid) when another cannot start', async () => {
    const before = childRedisServers();
    const both = await startRedisServers([], ['--maxmemory-policy', 'noeviction']);
    try {
      expect(childRedisServers()).toEqual([...before, ...both.map((s) => s.pid)].sort((a, b) => a - b));
    } finally {
      await Promise.all(both.map((s) => s.stop()));
    }

    await expect(startRedisServers([], ['--no-such-option', 'x'], [])).rejects.toThrow(/^Could not start redis-server/);
    // Assess: no redis-server of this process is left running.
    expect(childRedisServers()).toEqual(before);
  });

  it('gives every test its own key prefix', () => {
    const prefixes = new Set(Array.from({ length: 100 }, uniquePrefix));
    expect(prefixes.size).toBe(100);
  });

  it('fails at once with an install hint when redis-server is not on PATH', () => {
    expect(() => assertRedisServerInstalled({ ...process.env, PATH: '/nonexistent' })).toThrow(
      /redis-server is not on PATH.*apt-get install -y redis-server/,
    );
  });
});
