import { Redis } from 'ioredis';

/** `n` keys no run of ours wrote (a shared Redis's cache entries, `cache:N`), in pipelines of 5,000. */
export async function unrelatedKeys(redis: Redis, n: number): Promise<void> {
  for (let i = 0; i < n; i += 5000) {
    const pipeline = redis.pipeline();
    for (let j = i; j < Math.min(n, i + 5000); j++) pipeline.set(`cache:${j}`, 'x');
    await pipeline.exec();
  }
}

/** Every command the Redis at `url` receives until `stop()` (MONITOR), each as its arguments. */
export async function monitorCommands(url: string): Promise<{ stop: () => string[][] }> {
  const client = new Redis(url);
  const monitor = await client.monitor();
  const seen: string[][] = [];
  monitor.on('monitor', (_: string, args: string[]) => seen.push(args));
  return {
    stop: () => {
      monitor.disconnect();
      client.disconnect();
      return seen;
    },
  };
}
