import type { Redis } from 'ioredis';
import { LuaScript } from '../redis/lua-script.js';
import { classifyRedisError } from '../redis/redis-errors.js';
import { inspectJobRoute } from '../payload/inspect-job.js';
import { queueRewrite } from '../payload/rewrite-queue.js';
import { examineScheduledJob } from '../reroute/examine-job.js';
import { decideRoute, type RoutingPlan } from '../routing/routing-plan.js';
import { routedClass } from '../routing/routed-class.js';
import { plannerArgs, refuseUnlessHeld, type PlanGuard } from '../workflow/planner-guard.js';
import type { CronDefinition } from './cron-definitions.js';

const rewriteCronMessage = new LuaScript('rewriteCronMessage-4');
const rewriteCronQueueField = new LuaScript('rewriteCronQueueField-1');

/** What routing says of one cron definition's queue. */
export interface CronRoute {
  readonly definition: CronDefinition;
  /** Its queue under the routing: null when its class has no destination or it cannot be read. */
  readonly to: string | null;
  /** Its queue already is `to`. */
  readonly routed: boolean;
  /** When it must change: the message with its queue value rewritten to `to`, or without a message (`built`) the new `queue` field. */
  readonly rewritten: Buffer | null;
  /** Why it cannot be made to push to `to` (its queue_name_prefix): left as it is, named as not judged. */
  readonly problem?: string;
}

/**
 * Where each definition's jobs belong under the routing, read as the cron poller would push them
 * (the message's `class` decides, as for a scheduled job; without a message, its `klass` and
 * `queue` fields, which sidekiq-cron builds the message from).
 */
export function routeCronDefinitions(definitions: readonly CronDefinition[], plan: RoutingPlan): CronRoute[] {
  return definitions.map((definition) => {
    if (definition.built) return routeBuilt(definition, plan);
    // No message and no class or no queue field (`problem` says which): not judged, left as it is.
    if (definition.message === null) return { definition, to: null, routed: false, rewritten: null };
    if (definition.queuePrefix !== undefined) return routePrefixed(definition, definition.message, definition.queuePrefix, plan);
    const examined = examineScheduledJob(definition.message, plan, true);
    if (examined.kind === 'move') return { definition, to: examined.to, routed: false, rewritten: examined.rewritten };
    if (examined.kind === 'already-routed') return { definition, to: definition.queue, routed: true, rewritten: null };
    return { definition, to: null, routed: false, rewritten: null };
  });
}

/**
 * An ActiveJob definition with a queue_name_prefix pushes to "<prefix><queue>" (`definition.queue`):
 * judged by that queue; its message's queue becomes the destination without the prefix, and a
 * destination without it cannot be reached by rewriting the message (named, left as it is).
 */
function routePrefixed(definition: CronDefinition, message: Buffer, prefix: string, plan: RoutingPlan): CronRoute {
  const job = inspectJobRoute(message);
  if (job.kind === 'unparsable') return { definition, to: null, routed: false, rewritten: null };
  const decision = decideRoute(plan, { ...job, queue: definition.queue });
  if (decision.action === 'already-routed') return { definition, to: definition.queue, routed: true, rewritten: null };
  if (decision.action !== 'move') return { definition, to: null, routed: false, rewritten: null };
  if (!decision.to.startsWith(prefix) || decision.to.length === prefix.length) {
    const problem = `its queue_name_prefix makes it push to ${prefix}<its queue>, so it cannot push to ${decision.to}, where routing sends ${routedClass(job.className, job.wrapped)}`;
    return { definition, to: decision.to, routed: false, rewritten: null, problem };
  }
  return { definition, to: decision.to, routed: false, rewritten: queueRewrite(message, job, decision.to.slice(prefix.length), { activeJobQueueName: true }).toBuffer() };
}

/**
 * A definition without a message pushes to its `queue` field (behind `queuePrefix`, an ActiveJob
 * one's queue_name_prefix: `definition.queue` is where it pushes): judged by that queue and its
 * class; the field becomes the destination without the prefix, and a destination without it
 * cannot be reached by rewriting the field (named, left as it is), as routePrefixed.
 */
function routeBuilt(definition: CronDefinition, plan: RoutingPlan): CronRoute {
  const decision = decideRoute(plan, { className: definition.className, wrapped: null, queue: definition.queue });
  if (decision.action === 'already-routed') return { definition, to: definition.queue, routed: true, rewritten: null };
  if (decision.action !== 'move') return { definition, to: null, routed: false, rewritten: null };
  const prefix = definition.queuePrefix ?? '';
  if (!decision.to.startsWith(prefix) || (prefix !== '' && decision.to.length === prefix.length)) {
    const problem = `its queue_name_prefix makes it push to ${prefix}<its queue>, so it cannot push to ${decision.to}, where routing sends ${definition.className ?? '?'}`;
    return { definition, to: decision.to, routed: false, rewritten: null, problem };
  }
  return { definition, to: decision.to, routed: false, rewritten: Buffer.from(decision.to.slice(prefix.length)) };
}

export interface CronRewriteResult {
  /** Definitions whose message (or, without one, `queue` field) now names their destination. */
  readonly rewritten: { readonly name: string; readonly from: string | null; readonly to: string }[];
  /** Definitions saved by someone else between our read and our write: left as they are now. */
  readonly changedMeanwhile: string[];
}

/**
 * Rewrites the queue value of each definition that routing sends elsewhere, bytes preserved but
 * for that value, each with a compare-and-set of the fields it was judged by (rewriteCronMessage-4.lua:
 * the message and the ActiveJob prefix fields; without a message, its `queue` field:
 * rewriteCronQueueField-1.lua), only while the run's
 * lock is still the plan's (`guard`: else PlanSupersededError or RunLockLostError, nothing more
 * rewritten). Definitions whose class has no destination, or whose message cannot be read, stay
 * as they are.
 */
export async function rewriteCronQueues(redis: Redis, routes: readonly CronRoute[], guard: PlanGuard): Promise<CronRewriteResult> {
  const rewritten: CronRewriteResult['rewritten'][number][] = [];
  const changedMeanwhile: string[] = [];
  for (const { definition, to, rewritten: value } of routes) {
    if (to === null || value === null) continue;
    const { built } = definition;
    if (!built && definition.message === null) continue;
    let done: unknown;
    try {
      done = built
        ? await rewriteCronQueueField.run(redis, {
            keys: [definition.key, guard.lockKey],
            // The prefix fields too: the value written is the destination without the prefix read (or with none).
            args: [built.queue, value, ...plannerArgs(guard.planner), asRead(built.klass), asRead(built.class), asRead(built.activeJob), asRead(built.prefix), asRead(built.delimiter)],
          })
        : await rewriteCronMessage.run(redis, {
            keys: [definition.key, guard.lockKey],
            // The prefix fields too: the message names the destination without the prefix read (or with none).
            args: [definition.message!, value, ...plannerArgs(guard.planner), asRead(definition.prefixFields.activeJob), asRead(definition.prefixFields.prefix), asRead(definition.prefixFields.delimiter)],
          });
    } catch (error) {
      throw classifyRedisError(error, `Rewriting the queue of cron job ${definition.name} (${definition.key})`);
    }
    refuseUnlessHeld(done, guard.planner, guard.where, `rewrote the queue of cron job ${definition.name}`);
    if (done === 1) rewritten.push({ name: definition.name, from: definition.queue, to });
    else changedMeanwhile.push(definition.name);
  }
  return { rewritten, changedMeanwhile };
}

/** A field as read, for rewriteCronMessage-4.lua and rewriteCronQueueField-1.lua: '' when absent, else '=' and its bytes. */
function asRead(value: Buffer | null): Buffer {
  return value === null ? Buffer.alloc(0) : Buffer.concat([Buffer.from('='), value]);
}
