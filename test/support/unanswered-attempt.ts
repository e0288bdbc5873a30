import type { Redis } from 'ioredis';
import type { Connection, ConnectionProvider } from '../../core/workflow/connections.js';
import { pageStep } from '../../core/workflow/steps/page-step.js';
import { parsePageInput } from '../../functions/support/task-inputs.js';
import type { LocalHandlers } from '../../infra/local/run-workflow-locally.js';
import { interferingRedis, SimulatedCrash } from './interfering-redis.js';

/** `provider` with every client wrapped by `wrap` (the test's interference on one attempt's calls). */
export function wrapped(provider: ConnectionProvider, wrap: (redis: Redis) => Redis): ConnectionProvider {
  return { ...provider, get: async (name: string): Promise<Connection> => ({ ...(await provider.get(name)), redis: wrap((await provider.get(name)).redis) }) };
}

type Task = 'rerouteQueueSlice' | 'transferQueue';
const kinds = { rerouteQueueSlice: { mode: 'reroute', kind: 'queue' }, transferQueue: { mode: 'transfer', kind: 'queue' } } as const;

/**
 * Invocation `invocation` (0: the first) of `task` does pages until `pageDone` holds, then dies at
 * its next call to Redis (its process stopped) while Step Functions, which gave up waiting,
 * retries it (Lambda.ClientExecutionTimeoutException): the retry starts with the same input and no
 * receipt. Every other invocation is `real`'s.
 */
export function attemptNeverAnswers(real: LocalHandlers, provider: ConnectionProvider, task: Task, pageDone: () => Promise<boolean>, invocation = 0): LocalHandlers {
  let calls = 0;
  const dies = async (input: unknown) => {
    let moved = false;
    const dying = wrapped(provider, (client) =>
      interferingRedis(client, async () => {
        if (moved || (await pageDone())) {
          moved = true;
          throw new SimulatedCrash('the first attempt stopped here');
        }
      }),
    );
    await pageStep(parsePageInput(input, kinds[task]), dying, { deadline: Date.now() + 60_000 }).catch(() => undefined);
    throw Object.assign(new Error('Lambda did not answer in time'), { name: 'Lambda.ClientExecutionTimeoutException' });
  };
  return { ...real, [task]: (input: unknown, context?: Parameters<LocalHandlers['plan']>[1]) => (calls++ === invocation ? dies(input) : real[task](input, context)) } as LocalHandlers;
}
