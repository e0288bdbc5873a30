import type { Redis } from 'ioredis';
import { RedisUnavailableError } from './redis-errors.js';

/** Longest pause between two looks at a loading server: a short load should not cost seconds. */
const MAX_PAUSE_MS = 1_000;

/**
 * The server's INFO once it has loaded its data. A server still loading its RDB or AOF answers
 * INFO but refuses data commands (LOADING). ioredis's own ready check waited for this, but it also
 * printed a console warning of its own (advice about one of its options) whenever the user may not
 * run INFO, before our message: the connection turns it off and waits here instead, with INFO it
 * sends anyway. Gives up after `maxWaitMs`, as retryable: the step's retry looks again later.
 */
export async function infoOnceLoaded(client: Redis, where: string, maxWaitMs: number, sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))): Promise<string> {
  const started = Date.now();
  for (;;) {
    const info = await client.info();
    const loading = /^loading:(\d+)/m.exec(info)?.[1];
    if (loading !== '1') return info;
    const waited = Date.now() - started;
    if (waited >= maxWaitMs) {
      throw new RedisUnavailableError(`${where} is still loading its data into memory after ${Math.round(waited / 1000)} s (INFO loading:1); try again once it has loaded.`);
    }
    // Its own estimate of the time left, when it gives one (loading_eta_seconds).
    const eta = Number(/^loading_eta_seconds:(\d+)/m.exec(info)?.[1] ?? '1') * 1000;
    await sleep(Math.min(Math.max(eta, 100), MAX_PAUSE_MS, maxWaitMs - waited));
  }
}
