import { displayName } from '../../core/redis/key-name.js';
import { classesWithoutJobs, type SelectedJobCounts } from '../../core/selection/count-selected-jobs.js';
import { clip, count as n, shorten, wrap } from './fit.js';

/** Classes, and sets and queues, a plan lists without --verbose. */
export const PLAN_SHOWN = 10;

export interface SelectionPlanView {
  /** How the classes were chosen (resolve-selection.ts's description). */
  readonly description: string;
  readonly classes: readonly string[];
  readonly counts: SelectedJobCounts;
  /** What was read: the source, named. */
  readonly where: string;
  readonly width?: number;
  readonly verbose?: boolean;
  /** "would move" (dry run) or "to move". */
  readonly verb: string;
}

const where = (key: string) => (key.startsWith('queue:') ? `queue:${displayName(key.slice(6))}` : key);

/**
 * The plan of a selective move (or what drain-check finds of a selection), fitting `width`
 * columns with a bounded number of lines whatever the number of classes: per set and queue, and
 * per class with where its jobs are, the largest first (every one with `verbose`), then the classes
 * of the selection with no job at all.
 */
export function renderSelectionPlan(view: SelectionPlanView): string {
  const width = view.width ?? 80;
  const { counts } = view;
  const fit = (line: string) => clip(line, width);
  const withJobs = counts.byClass.size;
  const out = [
    ...wrap(`Selection: ${view.description}`, width),
    ...wrap(`Read ${n(counts.examined)} job(s) on ${view.where}: ${n(counts.selected)} ${view.verb}, of ${n(withJobs)} of the ${n(view.classes.length)} selected class(es).`, width),
  ];
  const keys = [...counts.byKey].filter(([, c]) => c > 0).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  if (keys.length > 0) {
    const shown = view.verbose ? keys : keys.slice(0, PLAN_SHOWN);
    const label = Math.min(width - 14, Math.max(5, ...shown.map(([k]) => where(k).length)));
    out.push('', `By set and queue (${n(keys.length)} with selected jobs):`);
    for (const [key, c] of shown) out.push(fit(`  ${shorten(where(key), label).padEnd(label)}  ${n(c).padStart(9)}`));
    if (shown.length < keys.length) out.push(`  … and ${n(keys.length - shown.length)} more (--verbose)`);
  }
  const classes = [...counts.byClass].map(([cls, perKey]) => [cls, perKey, [...perKey.values()].reduce((a, b) => a + b, 0)] as const);
  classes.sort((a, b) => b[2] - a[2] || (a[0] < b[0] ? -1 : 1));
  if (classes.length > 0) {
    const shown = view.verbose ? classes : classes.slice(0, PLAN_SHOWN);
    const label = Math.min(36, Math.max(5, ...shown.map(([c]) => c.length)));
    out.push('', `By class (${n(classes.length)} with selected jobs):`);
    for (const [cls, perKey, total] of shown) {
      const parts = [...perKey].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([k, c]) => `${where(k)} ${n(c)}`).join(' · ');
      out.push(fit(`  ${shorten(cls, label).padEnd(label)}  ${n(total).padStart(9)}  ${parts}`));
    }
    if (shown.length < classes.length) out.push(`  … and ${n(classes.length - shown.length)} more (--verbose)`);
  }
  const none = classesWithoutJobs(view.classes, counts);
  if (none.length > 0) {
    out.push('', `No jobs of ${n(none.length)} selected class(es):`);
    if (view.verbose) for (const cls of none) out.push(fit(`  ${cls}`));
    else out.push(namesLine(none, width));
  }
  return `${out.join('\n')}\n`;
}

/** As many names as one line of `width` holds, then how many more: "  A, B … and 12 more (--verbose)". */
function namesLine(names: readonly string[], width: number): string {
  const tail = (rest: number) => (rest > 0 ? ` … and ${n(rest)} more (--verbose)` : '');
  let line = ' ';
  for (let i = 0; i < names.length; i++) {
    const next = `${line}${i === 0 ? ' ' : ', '}${names[i]}`;
    if (next.length + tail(names.length - i - 1).length > width) {
      if (i > 0) return line + tail(names.length - i);
      // Not even one whole name fits: the first one, shortened.
      const room = width - line.length - 1 - tail(names.length - 1).length;
      return `${line} ${shorten(names[0]!, Math.max(8, room))}${tail(names.length - 1)}`;
    }
    line = next;
  }
  return line;
}
