import { MAX_CRON_DEFINITIONS } from '../../core/cron/cron-definitions.js';
import { cronLeftOf, cronLeftWords } from '../../core/cron/cron-left.js';
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
      lines.push(`sidekiq-cron: ${cron.carried} definition(s) copied to the target${cron.keptOnTarget ? `, ${cron.keptOnTarget} already defined there (kept${cron.completedOnTarget ? `; ${cron.completedOnTarget} of them added to the index set(s) naming it on the source that an earlier copy left out` : ''})` : ''}; the source keeps its own.`);
    } else {
      lines.push(`sidekiq-cron: ${cron.definitions} definition(s) on the source are ${cron.dryRun ? 'not copied by a dry run' : 'not copied to the target'}: schedules loaded at boot come back with Sidekiq, definitions made at run time do not (run with --cron to copy them).`);
    }
  }
  if (cron.unread) lines.push(unreadSentence(cron, cron.unread, mode));
  if (cron.misrouted > 0) {
    const names = cron.examples.map((e) => `${e.name}: ${e.queue ?? '?'} → ${e.to}`).join(', ');
    const more = cron.misrouted > cron.examples.length ? ` and ${cron.misrouted - cron.examples.length} more` : '';
    if (cron.dryRun && cron.action === 'rewrite') {
      lines.push(`sidekiq-cron: ${cron.misrouted} definition(s) would be rewritten to push to their new queue (${names}${more}).`);
    } else if (cron.rewritten !== undefined) {
      const meanwhileNames = cron.changedMeanwhileExamples ?? [];
      const meanwhileMore = cron.changedMeanwhile && cron.changedMeanwhile > meanwhileNames.length ? `${meanwhileNames.length > 0 ? ' ' : ''}and ${cron.changedMeanwhile - meanwhileNames.length} more` : '';
      const meanwhile = cron.changedMeanwhile ? `; ${cron.changedMeanwhile} saved by someone else meanwhile, left as they are now (${meanwhileNames.join(', ')}${meanwhileMore})` : '';
      // Examples are of the rewritten ones only (plan-cron.ts): none rewritten, none named.
      const rewrittenMore = cron.rewritten > cron.examples.length ? ` and ${cron.rewritten - cron.examples.length} more` : '';
      const rewrittenNames = cron.examples.length > 0 ? ` (${names}${rewrittenMore})` : '';
      lines.push(`sidekiq-cron: ${cron.rewritten} definition(s) now push to their new queue${rewrittenNames}${meanwhile}.`);
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

/** What the definitions beyond the bound missed, and what to do about them. */
function unreadSentence(cron: CronReport, unread: number, mode: 'reroute' | 'transfer'): string {
  const head = `sidekiq-cron: the source has ${cron.definitions + unread} definition(s); this tool reads the first ${MAX_CRON_DEFINITIONS} (its bound): ${unread} not read`;
  if (mode === 'transfer' && cron.action === 'carry' && !cron.selective) {
    return `${head}, so ${cron.dryRun ? 'a move would not copy them' : 'not copied to the target'}. Copy them by hand (their cron_job:… hashes and cron_jobs sets), or load their schedule on the target.`;
  }
  if (mode === 'reroute' && cron.action === 'rewrite') {
    return `${head}, so ${cron.dryRun ? 'a run would neither judge nor rewrite them' : 'neither judged by the routing nor rewritten'}. Check where they push by hand (the message or queue field of their cron_job:… hashes).`;
  }
  return `${head}, so not judged above. Check where they push by hand (the message or queue field of their cron_job:… hashes).`;
}

/**
 * A run that was asked to carry or rewrite every definition and left some unread, or (rewriting)
 * some enabled ones it could not judge (unjudged) or that were saved meanwhile by someone else
 * (changedMeanwhile: left as they are, where they may push to a retired queue): what its verdict says instead of "Complete" (and it exits 1). Undefined when it
 * left none, or did not write. The words are core/cron/cron-left.ts's, as the summarize
 * function's log line says them.
 */
export function cronLeftClause(cron: CronReport | undefined, mode: 'reroute' | 'transfer'): string | undefined {
  return cronLeftWords(cronLeftOf(cron, mode), mode);
}
