import { spawn } from 'node:child_process';

/**
 * The machine's own scheduling hiccups: `redis-cli --intrinsic-latency` spins for `seconds` and
 * reports the longest gap it saw, in µs. On a shared VM this can be milliseconds, and then any
 * single Redis command, Lua or not, can take that long once in a while.
 */
export function intrinsicLatencyMicros(seconds = 5): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn('redis-cli', ['--intrinsic-latency', String(seconds)], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', () => resolve(null));
    child.once('exit', () => {
      const all = [...out.matchAll(/Max latency so far: (\d+) microseconds/g)].map((m) => Number(m[1]));
      resolve(all.length > 0 ? Math.max(...all) : null);
    });
  });
}
