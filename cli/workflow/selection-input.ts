import type { RoutingPlan } from '../../core/routing/routing-plan.js';
import { loadRedisStores, storeUrl } from '../../core/selection/redis-stores.js';
import type { RoutingInput } from '../../core/workflow/workflow-input.js';
import { InputError } from '../../core/errors/input-error.js';

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

/**
 * `--cron` copies every sidekiq-cron definition of the source: with a class selection (a shard
 * move) the source keeps running them too, so each schedule would push from both Redis servers.
 * Refused before anything connects.
 */
export function refuseCronWithSelection(cron: boolean | undefined, selected: boolean): void {
  if (!cron || !selected) return;
  throw new InputError(
    "--cron copies every sidekiq-cron definition of the source, not only the selected classes: with --classes, --classes-file or --store each schedule would push from both Redis servers. Leave the definitions where they are, or copy them with a move of every class. Nothing was touched.",
  );
}
