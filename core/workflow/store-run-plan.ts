import { FatalError } from '../errors/sidekiq-migrate-error.js';
import { LuaScript } from '../redis/lua-script.js';
import { runLockKey } from '../redis/run-lock.js';
import { SORTED_SET_NAMES } from '../redis/sidekiq-keys.js';
import { CONFLICTS_TTL_SECONDS } from '../transfer/acknowledge.js';
import { conflictsKey } from '../transfer/transfer-keys.js';
import type { Connection } from './connections.js';
import { plannerArgs, refuseUnlessHeld, type Planner } from './planner-guard.js';
import { ROOT_EXECUTION, runExecutionsKey } from './run-executions.js';
import { STARTED_WITH_TTL_SECONDS, startedWithKey } from './started-with.js';
import { storedRoutingKey } from './stored-routing.js';
import { storedSelectionKey } from './stored-selection.js';
import { workListKey, type ListedWork } from './work-list.js';

const storeScript = new LuaScript('storeRunPlan-7');
const forgetScript = new LuaScript('forgetRunConflicts-n2');

const appendScript = new LuaScript('appendRunPlan-3');

/**
 * Items of the run's list one script call writes at most. Every other client of the source waits
 * while a script runs (issue #18: no call over 2 ms): the list of 10,000 queues written in one
 * call took 7–33 ms, 100,000 took 180–300 ms (SLOWLOG, redis-server 7.0, a loaded 2-core
 * machine); 1,000 took 0.5–1.8 ms.
 */
export const PLAN_ITEMS_PER_CALL = 500;

/**
 * How long a run's list, executions, routing and selection stay after its plan, and after each
 * page task since (keepRunRecords): a run that goes on for longer (a rate-limited move of queues
 * of millions) keeps them while it runs.
 */
export const RUN_PLAN_TTL_SECONDS = 7 * 24 * 3600;

/**
 * Gives the run's list, executions, routing and selection their RUN_PLAN_TTL_SECONDS again (EXPIRE
 * only, sent at once: a key that is gone stays gone), from each page task of the run. They had their 7 days from the plan only, and a run that went on longer (days of
 * `--rate-limit`) lost its list under it ("no longer on the source"), its routing, and its
 * executions, whose absence made a summary count itself last and release the lock under running
 * continuations. Harmless from a task that then finds the run stopped, or its records another
 * start's (a later start of the run, which gave them the same 7 days): nothing is longer kept than
 * 7 days after a page of the run.
 *
 * And the run's records of the conflicts its set transfers gave back (`:conflicts:<set>`, read by
 * every claim of the set: claimSetEntries-16.lua steps over them) their CONFLICTS_TTL_SECONDS: they
 * had them from the last conflict given back only, and past them a long pass claimed its conflicts
 * again, each one using up one of the pass's count of the set's entries at its start: the pass
 * ended with as many of its own entries never moved (said to be "added during the run"), and the
 * conflicts counted twice.
 *
 * And, with `startedWith` (the run's plan found its started-with record carrying its start:
 * RunSettings.renewsStartedWith), that record its 30 days (STARTED_WITH_TTL_SECONDS): it had them
 * from the run's first plan only, its time to live telling rollback when the run started, and a
 * run that went on longer (tens of millions of jobs at `--rate-limit 10`) lost it while running:
 * stopped or failed then, `--run-id` no longer refused a start with other routing, classes or
 * target. The start is in the record now (startedAt), read by rollback instead.
 */
export async function keepRunRecords(source: Connection, runId: string, options: { readonly startedWith?: boolean } = {}): Promise<void> {
  const { prefix } = source.keys;
  const conflicts = SORTED_SET_NAMES.map((set) => source.redis.expire(conflictsKey(prefix, runId, set), CONFLICTS_TTL_SECONDS));
  const started = options.startedWith === true ? [source.redis.expire(startedWithKey(prefix, runId), STARTED_WITH_TTL_SECONDS)] : [];
  await Promise.all([...[workListKey(prefix, runId), runExecutionsKey(prefix, runId), storedRoutingKey(prefix, runId), storedSelectionKey(prefix, runId)].map((key) => source.redis.expire(key, RUN_PLAN_TTL_SECONDS)), ...conflicts, ...started]);
}

/**
 * What a plan stores for its run, in one step on the source and only while the run's lock still
 * carries this plan's plannedAt and plannedBy (storeRunPlan-7.lua): the routing and selection
 * (serialized, when it has them), its list of sets and queues, and its executions (the root).
 * A list longer than PLAN_ITEMS_PER_CALL goes on in more calls, each guarded the same way
 * (appendRunPlan-3.lua), in order. Nothing reads the list before the plan returns its first batch:
 * a plan that stops between them (and whose start is then re-planned, which writes the list
 * again) leaves a shorter list that no page went by.
 */
export async function storeRunPlan(
  source: Connection,
  planner: Planner,
  plan: { readonly routing?: string; readonly selection?: string; readonly work: readonly ListedWork[] },
): Promise<void> {
  const { prefix } = source.keys;
  const keys = [runLockKey(prefix), workListKey(prefix, planner.runId), runExecutionsKey(prefix, planner.runId), storedRoutingKey(prefix, planner.runId), storedSelectionKey(prefix, planner.runId)];
  const items = plan.work.map((w) => JSON.stringify(w));
  const first = items.slice(0, PLAN_ITEMS_PER_CALL);
  const args = [...plannerArgs(planner), RUN_PLAN_TTL_SECONDS, ROOT_EXECUTION, plan.routing ?? '', plan.selection ?? '', ...first];
  const where = `source ${source.name}`;
  refuseUnlessHeld(await storeScript.run(source.redis, { keys, args }), planner, where, "stored the run's routing, list and executions");
  for (let from = PLAN_ITEMS_PER_CALL; from < items.length; from += PLAN_ITEMS_PER_CALL) {
    const part = items.slice(from, from + PLAN_ITEMS_PER_CALL);
    const reply = refuseUnlessHeld((await appendScript.run(source.redis, { keys: [keys[0]!, keys[1]!], args: [...plannerArgs(planner), from, ...part] })) as [number, number], planner, where, "stored the rest of the run's list");
    if (reply[0] !== 1) {
      throw new FatalError(
        `Run ${planner.runId}: its list of sets and queues on ${where} (${keys[1]}) held ${reply[1]} item(s) where this plan had written ${from}: it was deleted or written by something else while the plan stored it. The run stopped before its first page; start it again.`,
      );
    }
  }
}

/**
 * Deletes the run's started-with record (started-with.ts) that this plan wrote, and the routing
 * and selection it may have stored, when the plan failed before it moved anything: only while the
 * run's lock still carries this plan's generation (forgetRunConflicts-n2.lua, a guarded DEL), so
 * that a later start's are never deleted. The run's list of items and its executions go in the
 * same call (the plan's clean-up ends the run after it, finishRun, which deletes them too): a run
 * whose list outlived its started-with record and routing is read as one an older version started
 * with no routing (readStartedWith), and every later start of it, with the very routing it was
 * started with, was refused as "started with other routing" — what a clean-up cut between the two
 * calls left (its connection lost, the process killed; test/workflow/failed-plan-cleanup-cut.test.ts).
 */
export async function forgetStartedWith(source: Connection, planner: Planner): Promise<void> {
  const { prefix } = source.keys;
  const { runId } = planner;
  const keys = [runLockKey(prefix), startedWithKey(prefix, runId), storedRoutingKey(prefix, runId), storedSelectionKey(prefix, runId), workListKey(prefix, runId), runExecutionsKey(prefix, runId)];
  const reply = await forgetScript.run(source.redis, { keys, args: plannerArgs(planner) });
  refuseUnlessHeld(reply, planner, `source ${source.name}`, 'forgot what the run was started with');
}

/**
 * Deletes the run's conflicts keys an earlier attempt of the run left (`keys`), only while the
 * run's lock still carries this plan's generation (forgetRunConflicts-n2.lua).
 */
export async function forgetRunConflicts(source: Connection, planner: Planner, keys: readonly (string | Buffer)[]): Promise<void> {
  const reply = await forgetScript.run(source.redis, { keys: [runLockKey(source.keys.prefix), ...keys], args: plannerArgs(planner) });
  refuseUnlessHeld(reply, planner, `source ${source.name}`, "forgot the run's conflicts");
}
