import type { RoutingPlan } from '../../core/routing/routing-plan.js';
import { loadRedisStores, storeUrl } from '../../core/selection/redis-stores.js';
import type { RoutingInput } from '../../core/workflow/workflow-input.js';

/** A selection's routing plan as an execution's routing input (a class mapping, or renames). */
export function routingInputOfPlan(plan: RoutingPlan | undefined): RoutingInput | undefined {
  if (plan === undefined) return undefined;
  switch (plan.kind) {
    case 'classes':
      return { kind: 'mapping', mapping: Object.fromEntries(plan.mapping), liveQueues: [...plan.liveQueues].filter((q) => !plan.destinations.has(q)) };
    case 'renames':
      return { kind: 'renames', renames: Object.fromEntries(plan.renames) };
    case 'reverse':
      throw new Error('a selection never yields a rollback');
  }
}

/**
 * The URLs of endpoints given as URLs or as store names of `redisYml` (read once, before anything
 * connects): an unknown name is refused naming the file and the names it has.
 */
export function endpointUrls<K extends string>(redisYml: string | undefined, environment: string, endpoints: Record<K, { value: string; option: string }>): Record<K, string> {
  const stores = redisYml === undefined ? undefined : loadRedisStores(redisYml, environment);
  const urls = {} as Record<K, string>;
  for (const [key, { value, option }] of Object.entries(endpoints) as [K, { value: string; option: string }][]) urls[key] = storeUrl(stores, value, option);
  return urls;
}
