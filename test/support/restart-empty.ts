import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import type { RedisServerHandle } from './redis-server.js';
import { waitUntil } from './wait-until.js';

/**
 * `server` killed by its pid (SIGKILL: no shutdown save) and a new, empty redis-server with no
 * persistence started on its port: a Redis that restarted and lost everything it held. Returns the
 * new process, which the caller kills by its pid when done (the handle's stop() knows only the old one).
 */
export async function restartEmpty(server: RedisServerHandle): Promise<ChildProcess> {
  process.kill(server.pid, 'SIGKILL');
  await waitUntil(`the killed server on port ${server.port} is gone`, () => {
    try {
      process.kill(server.pid, 0);
      return false;
    } catch {
      return true;
    }
  });
  const restarted = spawn('redis-server', ['--port', String(server.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const probe = new Redis(server.url, { protocol: 2, retryStrategy: () => 50, lazyConnect: false });
  probe.on('error', () => {});
  try {
    await waitUntil(`the restarted server on port ${server.port} answers`, () => probe.ping().then(() => true, () => false), { intervalMs: 50 });
  } finally {
    probe.disconnect();
  }
  return restarted;
}
