import type { RerouteCounters } from '../../core/reroute/reroute-counters.js';
import type { TransferCounters } from '../../core/transfer/transfer-counters.js';
import { MetricNames, type MetricName } from './metric-names.js';

/** Which counter feeds which metric, per mode. Counters not listed are logged, not graphed. */
export const RerouteCounterMetrics = {
  scanned: MetricNames.JobsScanned,
  moved: MetricNames.JobsMoved,
  alreadyRouted: MetricNames.JobsAlreadyRouted,
  unmapped: MetricNames.JobsUnmapped,
  unparsable: MetricNames.JobsUnparsable,
  quarantined: MetricNames.JobsQuarantined,
  vanished: MetricNames.JobsVanished,
} as const satisfies Partial<Record<keyof RerouteCounters, MetricName>>;

export const TransferCounterMetrics = {
  claimed: MetricNames.JobsClaimed,
  written: MetricNames.JobsWritten,
  duplicates: MetricNames.JobsDuplicate,
  unmapped: MetricNames.JobsUnmapped,
  unparsable: MetricNames.JobsUnparsable,
} as const satisfies Partial<Record<keyof TransferCounters, MetricName>>;

const REROUTE_SCALARS = ['scanned', 'moved', 'alreadyRouted', 'unmapped', 'unparsable', 'vanished', 'conflicts', 'quarantined'] as const;
const TRANSFER_SCALARS = ['claimed', 'written', 'duplicates', 'resumed', 'rerouted', 'unmapped', 'unparsable'] as const;

/** The scalar counters of a mode (what a log line shows), `after − before` for a page task. */
export function counterDelta(mode: 'reroute' | 'transfer', after: object, before?: object): Record<string, number> {
  const read = (o: object | undefined, k: string) => {
    const v = (o as Record<string, unknown> | undefined)?.[k];
    return typeof v === 'number' && Number.isFinite(v) ? v : 0;
  };
  const delta: Record<string, number> = {};
  for (const k of mode === 'reroute' ? REROUTE_SCALARS : TRANSFER_SCALARS) delta[k] = read(after, k) - read(before, k);
  return delta;
}

/** Metric values from scalar counters: every mapped metric, zeros included (graphs without gaps). */
export function counterMetrics(mode: 'reroute' | 'transfer', counters: Readonly<Record<string, number>>): Partial<Record<MetricName, number>> {
  const mapping: Readonly<Record<string, MetricName>> = mode === 'reroute' ? RerouteCounterMetrics : TransferCounterMetrics;
  const values: Partial<Record<MetricName, number>> = {};
  for (const [counter, metric] of Object.entries(mapping)) values[metric] = counters[counter] ?? 0;
  return values;
}
