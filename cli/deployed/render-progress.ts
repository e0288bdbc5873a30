import { renderSummary } from '../workflow/render-summary.js';
import type { ExecutionProgress, ItemProgress } from './execution-progress.js';

const BAR = 24;
const n = (value: number) => Math.round(value).toLocaleString('en-US');

/** `1h02m05s`, `3m07s`, `42s`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const [h, m, sec] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const pad = (v: number) => String(v).padStart(2, '0');
  return h > 0 ? `${h}h${pad(m)}m${pad(sec)}s` : m > 0 ? `${m}m${pad(sec)}s` : `${sec}s`;
}

function elapsed(p: ExecutionProgress, now: Date): string {
  if (!p.startedAt) return '';
  return formatDuration((p.stoppedAt ?? now).getTime() - p.startedAt.getTime());
}

function title(p: ExecutionProgress): string {
  const what = p.mode === 'transfer' ? 'transfer' : p.mode === 'reroute' ? 're-route' : 'run';
  return `${p.runId ? `Run ${p.runId}` : p.executionArn.split(':').at(-1)} (${what}${p.dryRun ? ', DRY RUN' : ''})`;
}

/** `sidekiq-migrate (eu-west-1)`: the state machine and region of an execution ARN. */
function machineOf(executionArn: string): string {
  const parts = executionArn.split(':');
  return `${parts[6] ?? '?'} (${parts[3] ?? '?'})`;
}

/** The header of a watch or status view: run, status, current state, time, retries. */
export function headerLine(p: ExecutionProgress, now: Date): string {
  const parts = [title(p), p.status];
  if (p.state) parts.push(p.state);
  const time = elapsed(p, now);
  if (time) parts.push(time);
  parts.push(`${p.retries} ${p.retries === 1 ? 'retry' : 'retries'}`);
  if (p.executions.length > 1) parts.push(`${p.executions.length} executions (continued)`);
  return parts.join(' — ');
}

/** One set or queue: a bar of seen/total, counts, rate. */
export function itemLine(item: ItemProgress): string {
  const total = item.total ?? 0;
  const fraction = item.done ? 1 : total > 0 ? Math.min(1, item.seen / total) : 0;
  const filled = Math.round(fraction * BAR);
  const name = (item.kind === 'queue' ? `queue:${item.name}` : item.name).padEnd(28).slice(0, 28);
  const end = item.failed ? `  FAILED ${item.failed}` : item.done ? '  done' : item.rate !== undefined ? `  ${n(item.rate)}/s` : '';
  return `${name} [${'#'.repeat(filled)}${'-'.repeat(BAR - filled)}] ${n(item.seen).padStart(11)} seen ${n(item.moved).padStart(11)} moved${end}`;
}

/** The terminal view: the header and a bar per set and queue (redrawn in place by the watcher). */
export function progressBlock(p: ExecutionProgress, now: Date): string[] {
  return [headerLine(p, now), ...p.items.map(itemLine)];
}

/** The pipe view: one plain line per update, with a timestamp, for logs and CI. */
export function progressLine(p: ExecutionProgress, now: Date): string {
  const done = p.items.filter((i) => i.done).length;
  const failed = p.items.filter((i) => i.failed).length;
  const seen = p.items.reduce((a, i) => a + i.seen, 0);
  const moved = p.items.reduce((a, i) => a + i.moved, 0);
  const rate = p.items.filter((i) => !i.done && i.rate !== undefined).reduce((a, i) => a + i.rate!, 0);
  const parts = [
    now.toISOString(),
    p.status,
    ...(p.state ? [`"${p.state}"`] : []),
    `items ${done}/${p.items.length} done${failed ? `, ${failed} failed` : ''}`,
    `${n(seen)} seen`,
    `${n(moved)} moved`,
    ...(p.status === 'RUNNING' ? [`${n(rate)} jobs/s`] : []),
    `retries ${p.retries}`,
  ];
  return parts.join(' · ');
}

/** The JSON view of an update: dates as ISO strings, the summary only at the end. */
export function progressJson(p: ExecutionProgress, type: 'progress' | 'end'): string {
  return JSON.stringify({ type, ...p });
}

/** What is printed once the run ended: the combined summary (or why there is none) and the verdict. */
export function renderEnd(p: ExecutionProgress, now: Date): string {
  const out: string[] = [];
  if (p.summary) out.push(renderSummary(p.summary, machineOf(p.executionArn)).trimEnd());
  else out.push(`${title(p)}: no summary — the execution ended before its plan completed.`);
  for (const error of p.errors) out.push(`Execution error: ${error}`);
  const ok = p.status === 'SUCCEEDED' && (p.summary?.complete ?? false);
  out.push(`${ok ? 'Succeeded' : `Ended ${p.status}`} after ${elapsed(p, now) || '?'}${p.executions.length > 1 ? ` over ${p.executions.length} executions` : ''}.`);
  return `${out.join('\n')}\n`;
}
