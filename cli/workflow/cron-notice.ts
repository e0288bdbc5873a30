import type { CronReport } from '../../core/cron/plan-cron.js';

/**
 * What the run found and did about sidekiq-cron definitions (shown with --json too: cron keeps
 * pushing where its definitions say, whatever the jobs did).
 */
export function describeCron(cron: CronReport, mode: 'reroute' | 'transfer'): string {
  const lines: string[] = [];
  if (mode === 'transfer') {
    if (cron.dryRun && cron.action === 'carry') {
      lines.push(`sidekiq-cron: ${cron.definitions} definition(s) on the source would be copied to the target (never overwriting one it has).`);
    } else if (cron.selective && cron.carried === undefined) {
      lines.push(`sidekiq-cron: ${cron.definitions} definition(s) on the source stay there: a move of selected classes carries their jobs, not the schedules that push them (copied, each schedule would push from both Redis servers).`);
    } else if (cron.carried !== undefined) {
      lines.push(`sidekiq-cron: ${cron.carried} definition(s) copied to the target${cron.keptOnTarget ? `, ${cron.keptOnTarget} already defined there (kept)` : ''}; the source keeps its own.`);
    } else {
      lines.push(`sidekiq-cron: ${cron.definitions} definition(s) on the source are ${cron.dryRun ? 'not copied by a dry run' : 'not copied to the target'}: schedules loaded at boot come back with Sidekiq, definitions made at run time do not (run with --cron to copy them).`);
    }
  }
  if (cron.misrouted > 0) {
    const names = cron.examples.map((e) => `${e.name}: ${e.queue ?? '?'} → ${e.to}`).join(', ');
    const more = cron.misrouted > cron.examples.length ? ` and ${cron.misrouted - cron.examples.length} more` : '';
    if (cron.dryRun && cron.action === 'rewrite') {
      lines.push(`sidekiq-cron: ${cron.misrouted} definition(s) would be rewritten to push to their new queue (${names}${more}).`);
    } else if (cron.rewritten !== undefined) {
      const meanwhile = cron.changedMeanwhile ? `; ${cron.changedMeanwhile} saved by someone else meanwhile, left as they are now` : '';
      lines.push(`sidekiq-cron: ${cron.rewritten} definition(s) now push to their new queue (${names}${more})${meanwhile}.`);
    } else if (mode === 'reroute') {
      lines.push(
        `warning: ${cron.misrouted} sidekiq-cron definition(s) still push to their old queue (${names}${more}): restart Sidekiq with the new rules (GitLab saves its cron definitions at boot), or run with --rewrite-cron.`,
      );
    } else {
      lines.push(`sidekiq-cron: ${cron.misrouted} definition(s) push to a queue their class is not routed to (${names}${more}); left as they are.`);
    }
  }
  if (cron.unjudged) {
    const names = (cron.unjudgedExamples ?? []).map((e) => `${e.name}: ${e.problem}`).join(', ');
    const more = cron.unjudged > (cron.unjudgedExamples ?? []).length ? ` and ${cron.unjudged - (cron.unjudgedExamples ?? []).length} more` : '';
    lines.push(`sidekiq-cron: ${cron.unjudged} definition(s) could not be judged by the routing, left as they are (${names}${more}): check where they push by hand.`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
