import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';

/**
 * A script as the Lua loader sends it (core/redis/lua-script.ts): the lib files in the loader's
 * order, then the script, from a checkout's core/redis/lua (an older checkout: the lib files it has).
 */
export function luaOfCheckout(checkout: string, script: string | readonly string[]): string {
  const dir = join(resolve(checkout), 'core/redis/lua');
  // Several names (a script's versions, newest first): the first the checkout has.
  if (typeof script !== 'string') script = script.find((name) => existsSync(join(dir, name))) ?? script[0]!;
  const libs = ['lib/guards.lua', 'lib/variadic.lua', 'lib/claim-lock.lua', 'lib/run-generation.lua', 'lib/move-record.lua'].filter((f) => existsSync(join(dir, f)));
  return [...libs, script].map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
}

/** Redis's user + system CPU seconds so far (INFO cpu). */
export async function redisCpuSeconds(redis: Redis): Promise<number> {
  const text = await redis.info('cpu');
  return Number(/used_cpu_user:([\d.]+)/.exec(text)![1]) + Number(/used_cpu_sys:([\d.]+)/.exec(text)![1]);
}

export const loadAverage = () => loadavg().map((l) => l.toFixed(2)).join(' ');

/** Per unit moved, sorted: the median and every run, `12.34 µs (12.01 / 12.34 / 13.10)`. */
export function medianOf(values: readonly number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} µs (${sorted.map((x) => x.toFixed(2)).join(' / ')})`;
}

/**
 * Runs `measure` for another checkout's script and this one's, alternately, `rounds` times each,
 * so that both meet the same machine load: the results per checkout, in round order.
 */
export async function alternately<S>(otherDir: string, script: string | readonly string[], rounds: number, measure: (lua: string) => Promise<S>): Promise<Map<string, S[]>> {
  const scripts = [
    { name: `other (${otherDir})`, source: luaOfCheckout(otherDir, script) },
    { name: 'this checkout', source: luaOfCheckout('.', script) },
  ];
  const results = new Map<string, S[]>();
  for (let round = 0; round < rounds; round++) {
    for (const s of scripts) results.set(s.name, [...(results.get(s.name) ?? []), await measure(s.source)]);
  }
  return results;
}
