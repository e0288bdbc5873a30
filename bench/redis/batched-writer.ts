import type { Redis } from 'ioredis';

/**
 * Seeds jobs fast: members are grouped per key and written with one ZADD or LPUSH per key per
 * pipeline, flushed every `chunk` jobs. Keys named `schedule`/`retry` are sorted sets (score,
 * member pairs); every other key is a list.
 */
export class BatchedJobWriter {
  private batch = new Map<string, (string | Buffer)[]>();
  private pending = 0;

  constructor(
    private readonly redis: Redis,
    private readonly chunk: number,
  ) {}

  async add(key: string, ...args: (string | Buffer)[]): Promise<void> {
    const list = this.batch.get(key) ?? [];
    list.push(...args);
    this.batch.set(key, list);
    if (++this.pending % this.chunk === 0) await this.flush();
  }

  async flush(): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const [key, args] of this.batch) {
      if (key === 'schedule' || key === 'retry') pipeline.zadd(key, ...(args as string[]));
      else pipeline.lpush(key, ...args);
    }
    this.batch = new Map();
    for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
  }
}
