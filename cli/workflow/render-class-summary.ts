import type { TransferCounters } from '../../core/transfer/transfer-counters.js';
import { clip, count as n, shorten } from './fit.js';

/** Classes a selective move's summary lists without --verbose (the section stays within ~10 lines). */
export const CLASSES_SHOWN = 6;

export interface ClassSummaryView {
  readonly width: number;
  readonly verbose: boolean;
  readonly dryRun: boolean;
}

/**
 * A selective transfer's counters by class (transfer-counters.ts: `byClass`, `examined`, `vanished`,
 * `unparsableLeft`), as at most CLASSES_SHOWN + 3 lines of at most `width` columns: what was
 * examined and taken, one line per class (most jobs first) with where its jobs came from, and what
 * was left. Empty for a transfer without a selection.
 */
export function renderClassSummary(totals: TransferCounters, view: ClassSummaryView): string[] {
  if (totals.examined === undefined && totals.byClass === undefined) return [];
  const classes = Object.entries(totals.byClass ?? {})
    .map(([cls, perKey]) => [cls, Object.entries(perKey).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)), Object.values(perKey).reduce((a, b) => a + b, 0)] as const)
    .sort((a, b) => b[2] - a[2] || (a[0] < b[0] ? -1 : 1));
  const taken = classes.reduce((a, [, , total]) => a + total, 0);
  const verb = view.dryRun ? 'would take' : 'took';
  const lines = [`Selected classes: examined ${n(totals.examined ?? 0)} job(s), ${verb} ${n(taken)} of ${n(classes.length)} class(es) with jobs:`];
  const shown = view.verbose ? classes : classes.slice(0, CLASSES_SHOWN);
  const totalWidth = Math.max(0, ...shown.map(([, , total]) => n(total).length));
  const nameWidth = Math.max(12, Math.min(Math.floor(view.width / 2), Math.max(0, ...shown.map(([cls]) => cls.length))));
  for (const [cls, perKey, total] of shown) {
    const where = perKey.map(([key, c]) => `${key} ${n(c)}`).join(' · ');
    lines.push(clip(`  ${shorten(cls, nameWidth).padEnd(nameWidth)} ${n(total).padStart(totalWidth)}  ${where}`, view.width));
  }
  if (classes.length > shown.length) lines.push(`  … and ${n(classes.length - shown.length)} more class(es) (--verbose)`);
  if ((totals.vanished ?? 0) > 0) lines.push(clip(`  ${n(totals.vanished!)} job(s) gone before their claim: a Sidekiq fetcher or poller took them.`, view.width));
  if ((totals.unparsableLeft ?? 0) > 0) lines.push(clip(`  ${n(totals.unparsableLeft!)} unparsable job(s) never taken: left where they are.`, view.width));
  return lines;
}
