import { Redis } from 'ioredis';

export interface RttSample {
  readonly medianMicros: number;
  readonly p10Micros: number;
  readonly p90Micros: number;
}

/** Round trip of sequential PINGs through `port` (after a warm-up), as a client sees it. */
export async function pingRtt(port: number, count = 2_000): Promise<RttSample> {
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, protocol: 2 });
  await redis.connect();
  try {
    for (let i = 0; i < 200; i++) await redis.ping();
    const times = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      await redis.ping();
      times[i] = (performance.now() - t) * 1000;
    }
    times.sort();
    const at = (q: number) => times[Math.floor(q * (count - 1))]!;
    return { medianMicros: at(0.5), p10Micros: at(0.1), p90Micros: at(0.9) };
  } finally {
    redis.disconnect();
  }
}
