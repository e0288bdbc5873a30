import type { Redis } from 'ioredis';
import { InputError } from '../errors/input-error.js';
import { classifyRedisError } from './redis-errors.js';
import { SORTED_SET_NAMES, type SidekiqKeys } from './sidekiq-keys.js';

/**
 * Refuses a Redis whose `queues` or `processes` (under the prefix) holds another type than the
 * set Sidekiq keeps there: a wrong prefix, or another application's key. Runs and checks read
 * these two as a whole (queue discovery, the summary's and the check's listeners) and a run adds
 * to `queues` with every push, so with either of another type a run moved the sets' entries,
 * failed every queue and then its summary on an unnamed WRONGTYPE, and told the user to run it
 * again, which failed the same way. Checked before anything is written; `name` says which Redis
 * (`source redis://…`). Absent keys are fine: a Redis Sidekiq never ran on has neither.
 *
 * `sortedSets`: also `schedule`, `retry`, `dead` and `interrupted`, which must be sorted sets. A
 * drain check reads them all and failed on an unnamed WRONGTYPE; a run fails only that set's item,
 * naming it, and goes on with the others (README), so it does not ask for them.
 */
export async function refuseForeignSidekiqSets(redis: Redis, keys: SidekiqKeys, name: string, options: { readonly sortedSets?: boolean } = {}): Promise<void> {
  const expected: [string, string][] = [
    [keys.queues, 'set'],
    [keys.processes, 'set'],
    ...(options.sortedSets ? SORTED_SET_NAMES.map((set): [string, string] => [keys.sortedSet(set), 'zset']) : []),
  ];
  const names = expected.map(([key]) => key);
  let types: string[];
  try {
    const replies = (await names.reduce((p, key) => p.type(key), redis.pipeline()).exec()) ?? [];
    types = replies.map(([error, type]) => {
      if (error) throw error;
      return String(type);
    });
  } catch (error) {
    throw classifyRedisError(error, `Checking the types of ${names.join(', ')} on ${name}`);
  }
  const wrong = expected.flatMap(([key, type], i) =>
    types[i] === type || types[i] === 'none' ? [] : [`${key} holds a ${types[i]}, not the ${type === 'zset' ? 'sorted set' : 'set'} Sidekiq keeps there`],
  );
  if (wrong.length === 0) return;
  throw new InputError(
    `${name}: ${wrong.join('; ')}. Check the key prefix (--namespace), or move that key out of the way, then run again. Nothing was touched.`,
  );
}
