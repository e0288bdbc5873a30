import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import { keyValueSnapshot } from './exact-jobs.js';
import { commandsDuring } from './monitor-writes.js';
import { sidekiqPayload } from './sidekiq-jobs.js';

type CliResult = { code: number; stdout: string; stderr: string };

/**
 * Runs a command that must be refused as bad input before it touches anything: with a job queued
 * on the source (so there is something a wrong step would touch), it asserts that neither Redis saw
 * a command, both keyspaces are byte for byte as before, the exit code is 2 and nothing went to
 * stdout. Returns the result for the test to assert the message's words.
 */
export async function refusedUntouched(redis: { source: () => Redis; target: () => Redis }, run: () => Promise<CliResult>): Promise<CliResult> {
  await redis.source().rpush('queue:q', sidekiqPayload({ className: 'A', queue: 'q', args: '[1]' }));
  await redis.source().sadd('queues', 'q');
  const before = { source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) };
  const { result, commands } = await commandsDuring({ source: redis.source(), target: redis.target() }, run);
  expect(commands).toEqual([]);
  expect({ source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) }).toEqual(before);
  expect(result.code).toBe(2);
  expect(result.stdout).toBe('');
  return result;
}
