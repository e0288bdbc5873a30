import { LuaScript } from '../redis/lua-script.js';
import { runLockKey } from '../redis/run-lock.js';
import type { Connection } from './connections.js';
import { plannerArgs, refuseUnlessHeld, type Planner } from './planner-guard.js';
import { ROOT_EXECUTION, runExecutionsKey } from './run-executions.js';
import { startedWithKey } from './started-with.js';
import { storedRoutingKey } from './stored-routing.js';
import { storedSelectionKey } from './stored-selection.js';
import { workListKey, type ListedWork } from './work-list.js';

const storeScript = new LuaScript('storeRunPlan-5');
const forgetScript = new LuaScript('forgetRunConflicts-n');

/** How long a run's list, executions, routing and selection stay: longer than any run with its continuations. */
export const RUN_PLAN_TTL_SECONDS = 7 * 24 * 3600;

/**
 * What a plan stores for its run, in one step on the source and only while the run's lock still
 * carries this plan's plannedAt and plannedBy (storeRunPlan-5.lua): the routing and selection
 * (serialized, when it has them), its list of sets and queues, and its executions (the root).
 */
export async function storeRunPlan(
  source: Connection,
  planner: Planner,
  plan: { readonly routing?: string; readonly selection?: string; readonly work: readonly ListedWork[] },
): Promise<void> {
  const { prefix } = source.keys;
  const keys = [runLockKey(prefix), workListKey(prefix, planner.runId), runExecutionsKey(prefix, planner.runId), storedRoutingKey(prefix, planner.runId), storedSelectionKey(prefix, planner.runId)];
  const args = [...plannerArgs(planner), RUN_PLAN_TTL_SECONDS, ROOT_EXECUTION, plan.routing ?? '', plan.selection ?? '', ...plan.work.map((w) => JSON.stringify(w))];
  refuseUnlessHeld(await storeScript.run(source.redis, { keys, args }), planner, `source ${source.name}`, "stored the run's routing, list and executions");
}

/**
 * Deletes the run's started-with record (started-with.ts) that this plan wrote, and the routing
 * and selection it may have stored, when the plan failed before it moved anything: only while the
 * run's lock still carries this plan's generation (forgetRunConflicts-n.lua, a guarded DEL), so
 * that a later start's are never deleted.
 */
export async function forgetStartedWith(source: Connection, planner: Planner): Promise<void> {
  const { prefix } = source.keys;
  const keys = [runLockKey(prefix), startedWithKey(prefix, planner.runId), storedRoutingKey(prefix, planner.runId), storedSelectionKey(prefix, planner.runId)];
  const reply = await forgetScript.run(source.redis, { keys, args: plannerArgs(planner) });
  refuseUnlessHeld(reply, planner, `source ${source.name}`, 'forgot what the run was started with');
}

/**
 * Deletes the run's conflicts keys an earlier attempt of the run left (`keys`), only while the
 * run's lock still carries this plan's generation (forgetRunConflicts-n.lua).
 */
export async function forgetRunConflicts(source: Connection, planner: Planner, keys: readonly (string | Buffer)[]): Promise<void> {
  const reply = await forgetScript.run(source.redis, { keys: [runLockKey(source.keys.prefix), ...keys], args: plannerArgs(planner) });
  refuseUnlessHeld(reply, planner, `source ${source.name}`, "forgot the run's conflicts");
}
