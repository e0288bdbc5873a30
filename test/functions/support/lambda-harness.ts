import { createHash, randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import type { Redis } from 'ioredis';
import { vi } from 'vitest';

/**
 * A Lambda context with a real budget: `remainingMs` from now, counting down with the clock (as
 * the real one does). middy's early timeout and the page deadline both read it.
 */
export function fakeContext(remainingMs = 900_000): Context {
  const end = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'sidekiq-migrate-test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:sidekiq-migrate-test',
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/sidekiq-migrate-test',
    logStreamName: '2026/11/23/[$LATEST]test',
    getRemainingTimeInMillis: () => Math.max(0, end - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/**
 * Everything written to stdout and stderr while capturing: Powertools puts EMF and logs on
 * stdout, warnings and errors on stderr (CloudWatch gets both).
 */
export interface OutputCapture {
  readonly text: () => string;
  /** The JSON lines (Powertools logs and EMF documents); other output is skipped. */
  readonly records: () => Record<string, unknown>[];
  readonly clear: () => void;
  readonly stop: () => void;
}

export function captureOutput(): OutputCapture {
  const chunks: string[] = [];
  const write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof process.stdout.write;
  const spies = [vi.spyOn(process.stdout, 'write').mockImplementation(write), vi.spyOn(process.stderr, 'write').mockImplementation(write)];
  const text = () => chunks.join('');
  return {
    text,
    records: () =>
      text()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as Record<string, unknown>];
          } catch {
            return [];
          }
        }),
    clear: () => void chunks.splice(0),
    stop: () => spies.forEach((spy) => spy.mockRestore()),
  };
}

/** An EMF document: its metric values by name, its dimensions, its namespace. */
export interface EmfRecord {
  readonly namespace: string;
  readonly dimensions: Record<string, string>;
  readonly values: Record<string, number>;
}

/** The EMF documents among captured records (those with an `_aws.CloudWatchMetrics` block). */
export function emfRecords(records: readonly Record<string, unknown>[]): EmfRecord[] {
  return records.flatMap((r) => {
    const aws = r['_aws'] as { CloudWatchMetrics?: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] } | undefined;
    const directive = aws?.CloudWatchMetrics?.[0];
    if (!directive) return [];
    const dimensions: Record<string, string> = {};
    for (const name of directive.Dimensions.flat()) dimensions[name] = String(r[name]);
    const values: Record<string, number> = {};
    for (const { Name } of directive.Metrics) values[Name] = r[Name] as number;
    return [{ namespace: directive.Namespace, dimensions, values }];
  });
}

/** Every key's DUMP (not its TTL, which runs down), to show that nothing was written. */
export async function dumpAll(redis: Redis): Promise<Record<string, string>> {
  const dumps: Record<string, string> = {};
  for (const key of (await redis.keys('*')).sort()) dumps[key] = createHash('sha256').update((await redis.dumpBuffer(key)) ?? Buffer.alloc(0)).digest('hex');
  return dumps;
}

/** Sums of each metric over EMF documents. */
export function sumMetrics(records: readonly EmfRecord[]): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const r of records) for (const [name, value] of Object.entries(r.values)) sums[name] = (sums[name] ?? 0) + value;
  return sums;
}

/** The log lines (not EMF) among captured records. */
export function logRecords(records: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  return records.filter((r) => !('_aws' in r));
}
