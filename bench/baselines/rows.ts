import { totalJobs, type Scale } from '../config.js';
import type { Network } from './config.js';

/** One row of the baselines table: a run in process (the clock inside) and as a whole command. */
export interface BaselineRow {
  readonly label: string;
  readonly scale: Scale;
  readonly subset: boolean;
  /** Seconds the migration itself took (start-up excluded), or null when it did not run. */
  readonly inProcessSeconds: number | null;
  /** Spawn to exit of the command(s) a user runs, start-up included, or null. */
  readonly wholeSeconds: number | null;
  /** What the row says instead of figures, or a note after them. */
  readonly note: string;
  readonly ok: boolean;
}

export const jobsPerSecond = (scale: Scale, seconds: number | null): number | null => (seconds === null || seconds <= 0 ? null : totalJobs(scale) / seconds);

const int = (n: number) => Math.round(n).toLocaleString('en');
const rate = (scale: Scale, seconds: number | null) => {
  const r = jobsPerSecond(scale, seconds);
  return r === null || seconds === null ? '–' : `${int(r)} jobs/s (${seconds.toFixed(2)} s)`;
};

/** The rows of one part over one network: ours in process (loopback only), ours as a whole command, the Ruby baseline. */
export interface PartRows {
  /** Null where only the whole commands run (the 0.5 ms rows). */
  readonly inProcess: BaselineRow | null;
  readonly whole: BaselineRow;
  readonly ruby: BaselineRow;
}

/**
 * The table of one part (re-route or transfer) over one network: ours and the Ruby baseline, then
 * ours ÷ Ruby in jobs/s (so a Ruby `[subset]` compares fairly), the whole-command ratio held to the
 * network's goal and printed PASS or MISS with the number.
 */
export function formatRows(title: string, part: PartRows, network: Network): { lines: string[]; ratios: { inProcess: number | null; whole: number | null } } {
  const { ruby } = part;
  const rows = [part.inProcess, part.whole, ruby].filter((r): r is BaselineRow => r !== null);
  const width = Math.max(...rows.map((r) => r.label.length + (r.subset ? 9 : 0)));
  const line = (r: BaselineRow) =>
    `  ${`${r.label}${r.subset ? ' [subset]' : ''}`.padEnd(width)}  ${int(totalJobs(r.scale)).padStart(9)}  ${rate(r.scale, r.inProcessSeconds).padEnd(26)}  ${rate(r.scale, r.wholeSeconds).padEnd(26)}  ${r.note}`;
  const ratio = (a: BaselineRow | null, aSeconds: number | null | undefined, b: BaselineRow, bSeconds: number | null) => {
    const x = a === null || aSeconds === undefined ? null : jobsPerSecond(a.scale, aSeconds);
    const y = jobsPerSecond(b.scale, bSeconds);
    return x === null || y === null ? null : x / y;
  };
  const inProcess = ratio(part.inProcess, part.inProcess?.inProcessSeconds, ruby, ruby.inProcessSeconds);
  const whole = ratio(part.whole, part.whole.wholeSeconds, ruby, ruby.wholeSeconds);
  const fmt = (r: number | null) => (r === null ? '–' : `${r.toFixed(1)}×`);
  const failed = rows.filter((r) => !r.ok).map((r) => r.label);
  const goal = `(goal ≥ ${network.goal}× at ${network.name})`;
  const verdict = whole === null ? `no ratio: ${failed.length > 0 ? `failed: ${failed.join(', ')}` : `Ruby baseline ${ruby.note}`}` : `${whole >= network.goal ? 'PASS' : 'MISS'} ${fmt(whole)} ${goal}`;
  const inProcessRatio = part.inProcess ? `in process ${fmt(inProcess)} (${part.inProcess.label} ÷ Ruby's run after its start-up); ` : '';
  return {
    lines: [
      title,
      `  ${'run'.padEnd(width)}  ${'jobs'.padStart(9)}  ${'in process'.padEnd(26)}  ${'whole command'.padEnd(26)}  check`,
      ...rows.map(line),
      `  ratio ours ÷ Ruby in jobs/s: ${inProcessRatio}whole command ${fmt(whole)} (both spawn to exit)`,
      `  ${verdict}`,
    ],
    ratios: { inProcess, whole },
  };
}

/**
 * Runs `once` `repeats` times and returns the median row by its seconds (a failed run wins: it must
 * show), noting the spread when there were several.
 */
export async function medianRow(repeats: number, once: (repeat: number) => Promise<BaselineRow>): Promise<BaselineRow> {
  const rows: BaselineRow[] = [];
  for (let i = 0; i < repeats; i++) rows.push(await once(i));
  const failed = rows.find((r) => !r.ok);
  if (failed) return failed;
  const seconds = (r: BaselineRow) => r.inProcessSeconds ?? r.wholeSeconds ?? Infinity;
  const sorted = [...rows].sort((a, b) => seconds(a) - seconds(b));
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  if (rows.length === 1) return median;
  return { ...median, note: `${median.note}; median of ${rows.length} (${seconds(sorted[0]!).toFixed(2)}–${seconds(sorted.at(-1)!).toFixed(2)} s)` };
}
