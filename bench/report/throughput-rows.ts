import type { Scale } from '../config.js';
import { totalJobs } from '../config.js';

const MB = 1024 * 1024;
const int = (n: number) => Math.round(n).toLocaleString('en');
const k = (n: number) => `${(n / 1000).toFixed(1)}k`;

/** What a throughput row reads of a scenario's result (re-route and transfer results alike). */
export interface ThroughputResult<M> {
  readonly scenario: { readonly label: string; readonly scale: Scale };
  readonly runs: readonly { readonly jobsPerSecond: { readonly combined: number }; readonly result: { readonly maxRss: number }; readonly verification: { readonly ok: boolean } }[];
  readonly median: M & {
    readonly jobsPerSecond: { readonly sets: number; readonly queues: number; readonly combined: number };
    readonly result: { readonly setsSeconds: number; readonly queuesSeconds: number; readonly rssBeforeRun: number };
  };
}

/**
 * The result table's header and rows, one row per scenario (its median run): jobs, seconds and
 * jobs/s for sets, queues and both, the range over repeated runs, memory, and the check. An extra
 * column (the re-route's Lua call times) goes before the check.
 */
export function throughputRows<M>(
  results: readonly ThroughputResult<M>[],
  options: { readonly labelWidth: number; readonly extra?: { readonly title: string; readonly width: number; readonly cell: (median: M) => string } },
): string[] {
  const cols = ['run (median of n)', 'jobs', 'sets s', 'queues s', 'sets jobs/s', 'queues jobs/s', 'all jobs/s', 'n: all jobs/s range', 'RSS before', 'peak RSS'];
  const widths = [options.labelWidth, 10, 7, 8, 11, 13, 10, 20, 10, 8];
  if (options.extra) {
    cols.push(options.extra.title);
    widths.push(options.extra.width);
  }
  cols.push('check');
  widths.push(5);
  const row = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' ');
  const lines = [row(cols)];
  for (const { scenario, runs, median: m } of results) {
    const all = runs.map((x) => x.jobsPerSecond.combined);
    lines.push(
      row([
        scenario.label,
        int(totalJobs(scenario.scale)),
        m.result.setsSeconds.toFixed(2),
        m.result.queuesSeconds.toFixed(2),
        int(m.jobsPerSecond.sets),
        int(m.jobsPerSecond.queues),
        int(m.jobsPerSecond.combined),
        runs.length > 1 ? `${runs.length}: ${k(Math.min(...all))}–${k(Math.max(...all))}` : '1',
        `${(m.result.rssBeforeRun / MB).toFixed(0)} MB`,
        `${(Math.max(...runs.map((x) => x.result.maxRss)) / MB).toFixed(0)} MB`,
        ...(options.extra ? [options.extra.cell(m)] : []),
        runs.every((x) => x.verification.ok) ? 'OK' : 'FAIL',
      ]),
    );
  }
  return lines;
}
