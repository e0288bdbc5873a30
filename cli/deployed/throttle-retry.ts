import { isThrottling } from './aws-errors.js';

export interface ThrottleRetryOptions {
  readonly sleep: (ms: number) => Promise<void>;
  /** Attempts after the first. The SDK retries on its own too; this covers a long burst. */
  readonly retries?: number;
  readonly baseDelayMs?: number;
  /** Told before each wait, so that a watcher can say why it paused. */
  readonly onThrottled?: (delayMs: number, attempt: number) => void;
}

/**
 * Calls `call`, waiting and calling again while AWS throttles it (exponential backoff with full
 * jitter, capped at 30 s). Step Functions' history and list APIs have small token buckets shared
 * by everyone in the account and region: a watcher must slow down, not give up or fail.
 */
export async function withThrottleRetry<T>(call: () => Promise<T>, options: ThrottleRetryOptions): Promise<T> {
  const retries = options.retries ?? 8;
  const base = options.baseDelayMs ?? 500;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isThrottling(error) || attempt > retries) throw error;
      const delay = Math.round(Math.min(30_000, base * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2));
      options.onThrottled?.(delay, attempt);
      await options.sleep(delay);
    }
  }
}
