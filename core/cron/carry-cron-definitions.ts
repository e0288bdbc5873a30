import type { Redis } from 'ioredis';
import { LuaScript } from '../redis/lua-script.js';
import { classifyRedisError } from '../redis/redis-errors.js';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';
import { plannerArgs, refuseUnlessHeld, type PlanGuard } from '../workflow/planner-guard.js';
import type { CronDefinition } from './cron-definitions.js';

const copyCronDefinition = new LuaScript('copyCronDefinition-6');

export interface CronCarryResult {
  readonly copied: string[];
  /** Defined on the target already (saved there by a Sidekiq with its schedule): kept as it is. */
  readonly keptOnTarget: string[];
  /** Of keptOnTarget, those an earlier copy had put in the first of their sets only (copyCronDefinition-4 or earlier): now in each. */
  readonly completed: string[];
}

/**
 * Carries sidekiq-cron definitions to the target of a move (`move --cron`): definitions created at
 * run time (the web UI, `Sidekiq::Cron::Job.create`) exist only where they were saved, and a
 * schedule file is loaded only when a Sidekiq boots. Copies, never deletes: the source keeps its
 * definitions (a cron poller runs only where a Sidekiq runs, so once the old side's Sidekiq
 * processes stop, they push nothing). Each copy is one atomic Lua call on the target that never
 * overwrites a definition the target has (a re-run only completes the index sets of an older copy of ours: one the target names in the first set naming it on the source; one its own Sidekiq saved is left as it is). Values are copied as bytes, as read (field names are sidekiq-cron's own ASCII names).
 */
export async function carryCronDefinitions(
  source: Redis,
  sourceKeys: SidekiqKeys,
  target: Redis,
  targetKeys: SidekiqKeys,
  definitions: readonly CronDefinition[],
  /** The run's lock on the target: each copy goes through only while it is still the plan's (copyCronDefinition-6.lua). */
  guard: PlanGuard,
): Promise<CronCarryResult> {
  const copied: string[] = [];
  const keptOnTarget: string[] = [];
  const completed: string[] = [];
  for (const definition of definitions) {
    const member = definition.key.slice(sourceKeys.prefix.length);
    const indexOf = (namespace: string | null) => `${targetKeys.prefix}${namespace === null ? 'cron_jobs' : `cron_jobs:${namespace}`}`;
    // Every set naming it on the source names it on the target (a 2.x Sidekiq reads only its namespace's set).
    const otherIndexes = (definition.alsoIn ?? []).map(indexOf);
    let done: unknown;
    try {
      const fields = await source.hgetallBuffer(definition.key);
      // Gone since it was listed: nothing to carry.
      if (Object.keys(fields).length === 0) continue;
      const pairs = Object.entries(fields).flatMap(([field, value]) => [field, value]);
      done = await copyCronDefinition.run(target, { keys: [`${targetKeys.prefix}${member}`, indexOf(definition.namespace), guard.lockKey, ...otherIndexes], args: [member, ...plannerArgs(guard.planner), ...pairs] });
    } catch (error) {
      throw classifyRedisError(error, `Copying cron job ${definition.name} (${definition.key}) to the target`);
    }
    refuseUnlessHeld(done, guard.planner, guard.where, `copied cron job ${definition.name} to the target`);
    (done === 1 ? copied : keptOnTarget).push(definition.name);
    if (done === 2) completed.push(definition.name);
  }
  return { copied, keptOnTarget, completed };
}
