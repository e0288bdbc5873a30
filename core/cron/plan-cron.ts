import { runLockKey } from '../redis/run-lock.js';
import type { Connection } from '../workflow/connections.js';
import type { Planner } from '../workflow/planner-guard.js';
import type { RoutingPlan } from '../routing/routing-plan.js';
import { carryCronDefinitions } from './carry-cron-definitions.js';
import { readCronDefinitionsOf, readCronDefinitionsWithin } from './cron-definitions.js';
import { rewriteCronQueues, routeCronDefinitions } from './rewrite-cron-queues.js';

/** What a run does with sidekiq-cron definitions: name them (default), rewrite their queue, or carry them. */
export type CronAction = 'report' | 'rewrite' | 'carry';

/** Names listed in a report (the state stays small whatever the number of definitions). */
export const CRON_NAMES_SHOWN = 20;

/** The plan's word on sidekiq-cron definitions (core/cron/cron-definitions.ts), bounded. */
export interface CronReport {
  /** Definitions on the source (read: at most MAX_CRON_DEFINITIONS). */
  readonly definitions: number;
  /** Definitions the source's sets name beyond MAX_CRON_DEFINITIONS: not read, so neither judged, rewritten nor carried. */
  readonly unread?: number;
  /** Re-route: enabled definitions whose class routing sends to another queue than they push to. */
  readonly misrouted: number;
  /** Up to CRON_NAMES_SHOWN of them: name, the queue it pushes to, where its class now belongs. */
  readonly examples: readonly { readonly name: string; readonly queue: string | null; readonly to: string }[];
  /** Enabled definitions routing could not judge (a message that is not a job we read, or none: `problem` says which): left as they are. */
  readonly unjudged?: number;
  /** Up to CRON_NAMES_SHOWN of them. */
  readonly unjudgedExamples?: readonly { readonly name: string; readonly problem: string }[];
  /** `rewrite`: how many now push to their destination; how many were saved meanwhile by someone else (left). */
  readonly rewritten?: number;
  readonly changedMeanwhile?: number;
  /** Up to CRON_NAMES_SHOWN names of those saved meanwhile (absent when none). */
  readonly changedMeanwhileExamples?: readonly string[];
  /** `carry`: copied to the target; already defined there (kept). */
  readonly carried?: number;
  readonly keptOnTarget?: number;
  /** Of keptOnTarget, those an earlier copy had put in one of their index sets only: added to the others (absent when none). */
  readonly completedOnTarget?: number;
  readonly action: CronAction;
  readonly dryRun: boolean;
  /** A transfer of selected classes: it carries their jobs, never the schedules (copied, each would push from both Redis servers). */
  readonly selective?: true;
}

/**
 * Read once by the plan step. A re-route names the definitions that will keep pushing to the old
 * queue (GitLab saves them again when Sidekiq boots with the new rules; other apps when their
 * schedule is loaded) and rewrites their queue value with `rewrite`. A transfer names the
 * definitions left on the source and copies them with `carry`. A dry run writes nothing.
 */
export async function planCron(
  action: CronAction,
  dryRun: boolean,
  source: Connection,
  target: Connection | undefined,
  plan: RoutingPlan | undefined,
  /** The plan holding the run's locks (none: a dry run): each write goes through only while it still does. */
  planner?: Planner,
  /** The 2.x namespace sets (`cron_jobs:*`) the plan's walk of the keyspace found (plan-walk.ts); a walk of its own otherwise. */
  namespaces?: readonly string[],
): Promise<CronReport | null> {
  const read = namespaces ? await readCronDefinitionsOf(source.redis, source.keys, namespaces) : await readCronDefinitionsWithin(source.redis, source.keys, {});
  const { definitions } = read;
  if (definitions.length === 0) return null;
  // A rollback's reverse plan names where jobs came from, not where a class belongs: cron is not judged by it.
  const judged = plan && plan.kind !== 'reverse' ? plan : undefined;
  const judgedRoutes = judged ? routeCronDefinitions(definitions, judged).filter((r) => r.definition.enabled) : [];
  const routes = judgedRoutes.filter((r) => !r.routed && r.to !== null && r.problem === undefined);
  // A message we cannot read (or none), or a destination its queue_name_prefix cannot reach.
  const unjudged = [
    ...(judged ? definitions.filter((d) => d.enabled && d.problem !== null).map((d) => ({ name: d.name, problem: d.problem ?? '' })) : []),
    ...judgedRoutes.flatMap((r) => (r.problem === undefined ? [] : [{ name: r.definition.name, problem: r.problem }])),
  ];
  const report = {
    definitions: definitions.length,
    ...(read.unread ? { unread: read.unread } : {}),
    misrouted: routes.length,
    examples: routes.slice(0, CRON_NAMES_SHOWN).map((r) => ({ name: r.definition.name, queue: r.definition.queue, to: r.to! })),
    ...(unjudged.length > 0 ? { unjudged: unjudged.length, unjudgedExamples: unjudged.slice(0, CRON_NAMES_SHOWN) } : {}),
    action,
    dryRun,
  };
  if (dryRun || !planner) return report;
  if (action === 'rewrite' && routes.length > 0) {
    const done = await rewriteCronQueues(source.redis, routes, { lockKey: runLockKey(source.keys.prefix), planner, where: `source ${source.name}` });
    const meanwhile = done.changedMeanwhile;
    // The examples after a rewrite are of those rewritten: one saved meanwhile does not push there.
    const left = new Set(meanwhile);
    const examples = routes.filter((r) => !left.has(r.definition.name)).slice(0, CRON_NAMES_SHOWN).map((r) => ({ name: r.definition.name, queue: r.definition.queue, to: r.to! }));
    return { ...report, examples, rewritten: done.rewritten.length, changedMeanwhile: meanwhile.length, ...(meanwhile.length > 0 ? { changedMeanwhileExamples: meanwhile.slice(0, CRON_NAMES_SHOWN) } : {}) };
  }
  if (action === 'carry' && target) {
    const done = await carryCronDefinitions(source.redis, source.keys, target.redis, target.keys, definitions, { lockKey: runLockKey(target.keys.prefix), planner, where: `target ${target.name}` });
    return { ...report, carried: done.copied.length, keptOnTarget: done.keptOnTarget.length, ...(done.completed.length > 0 ? { completedOnTarget: done.completed.length } : {}) };
  }
  return report;
}
