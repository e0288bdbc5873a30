import type { CronReport } from './plan-cron.js';

/**
 * The sidekiq-cron definitions a run asked to carry or rewrite every one left: unread (beyond
 * MAX_CRON_DEFINITIONS) and, rewriting, enabled ones the routing could not judge or that were
 * saved by someone else between the plan's read and its write (either may still push to a retired
 * queue). Counts only: the
 * plan puts them in the run's settings (RunSettings.cronLeft), which every execution of the run
 * carries, so that the summarize function's log line of whichever execution ends the run says
 * them, as the CLI's verdict does from the plan's CronReport.
 */
export interface CronLeft {
  readonly unread?: number;
  readonly unjudged?: number;
  /** Rewriting: definitions saved by someone else between the plan's read and its write, left as they are now. */
  readonly changedMeanwhile?: number;
}

/**
 * What a run's plan left of the definitions it was asked to carry or rewrite (undefined: none left,
 * a dry run, or it was not asked to write them).
 */
export function cronLeftOf(cron: CronReport | null | undefined, mode: 'reroute' | 'transfer'): CronLeft | undefined {
  if (!cron || cron.dryRun) return undefined;
  if (mode === 'transfer' && cron.action === 'carry' && cron.carried !== undefined && cron.unread) return { unread: cron.unread };
  if (mode !== 'reroute' || cron.action !== 'rewrite') return undefined;
  const left = { ...(cron.unread ? { unread: cron.unread } : {}), ...(cron.unjudged ? { unjudged: cron.unjudged } : {}), ...(cron.changedMeanwhile ? { changedMeanwhile: cron.changedMeanwhile } : {}) };
  return left.unread || left.unjudged || left.changedMeanwhile ? left : undefined;
}

/**
 * The words every verdict over them says instead of "Complete" (the CLI's run, watch and status,
 * which exit 1; the summarize function's log line). The one source of these words.
 */
export function cronLeftWords(left: CronLeft | undefined, mode: 'reroute' | 'transfer'): string | undefined {
  if (!left) return undefined;
  if (mode === 'transfer') return left.unread ? `${left.unread} sidekiq-cron definition(s) were not read, so not copied to the target` : undefined;
  const words = [
    ...(left.unread ? [`${left.unread} sidekiq-cron definition(s) were not read, so neither judged nor rewritten`] : []),
    ...(left.unjudged ? [`${left.unjudged} ${left.unread ? '' : 'sidekiq-cron '}definition(s) could not be judged by the routing, so not rewritten`] : []),
    ...(left.changedMeanwhile
      ? [`${left.changedMeanwhile} ${left.unread || left.unjudged ? '' : 'sidekiq-cron '}definition(s) changed while this run was rewriting them, so not rewritten: re-run with --rewrite-cron to judge them again`]
      : []),
  ];
  return words.length > 0 ? words.join(', and ') : undefined;
}
