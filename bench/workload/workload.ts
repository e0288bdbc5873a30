import { SETTINGS, type Scale } from '../config.js';
import { Prng } from '../prng.js';
import { gitlabPayload, withQueue, type JobKind } from './payload-text.js';
import type { BenchRouting, BenchWorker } from './routing.js';

/** One job of the workload: where it is seeded, its exact bytes, and what a correct run leaves. */
export interface BenchJob {
  readonly kind: JobKind;
  /** `schedule`/`retry`: the sorted set's name; `queued`: the queue name of its list. */
  readonly where: string;
  /** Sorted sets: the score text (due time). */
  readonly score: string;
  readonly original: string;
  /** The payload after a correct move (only the queue value differs), or null if it must stay. */
  readonly rewritten: string | null;
  /** The queue it belongs to after the run (its list, for queued jobs that stay). */
  readonly destination: string;
}

/** The 50 queue lists holding jobs: 48 per-worker queues the rules retire, 2 routing destinations. */
export interface QueueLayout {
  readonly retired: readonly BenchWorker[];
  /** Destination queues that already hold jobs of workers routed there; never drained. */
  readonly kept: readonly { readonly queue: string; readonly workers: readonly BenchWorker[] }[];
  /** Cumulative weights over retired then kept queues, for picking a job's list. */
  readonly cumulative: readonly number[];
}

const KEPT_QUEUES = ['default', 'high-urgency'];
const KEPT_SHARE = 0.02;

export function queueLayout(routing: BenchRouting): QueueLayout {
  const p = new Prng(`${SETTINGS.seed}/layout`);
  const destinations = new Set(routing.workers.map((w) => w.destination));
  const candidates = routing.workers.filter((w) => !destinations.has(w.ownQueue));
  const retired: BenchWorker[] = [];
  const pool = [...candidates];
  while (retired.length < SETTINGS.queueCount - KEPT_QUEUES.length) retired.push(pool.splice(p.int(0, pool.length - 1), 1)[0]!);
  const kept = KEPT_QUEUES.map((queue) => ({ queue, workers: routing.workers.filter((w) => w.destination === queue) }));
  // Backlogs are uneven in real life: a few queues hold most jobs (Zipf-like weights).
  const weights = retired.map((_, i) => 1 / (i + 1) ** 0.7);
  const sum = weights.reduce((a, b) => a + b, 0);
  const shares = [...weights.map((w) => (w / sum) * (1 - KEPT_SHARE * kept.length)), ...kept.map(() => KEPT_SHARE)];
  let acc = 0;
  return { retired, kept, cumulative: shares.map((s) => (acc += s)) };
}

/**
 * The whole workload, regenerated identically by every process from SETTINGS.seed: `schedule`
 * entries, then `retry` entries, then queued jobs (in push order, oldest first). Each kind has its
 * own random stream, so the first N jobs of a kind are the same whatever the other counts are.
 */
export function* workload(routing: BenchRouting, scale: Scale): Generator<BenchJob> {
  const root = new Prng(SETTINGS.seed);
  const streams = { schedule: root.fork('schedule'), retry: root.fork('retry'), queued: root.fork('queued') };
  for (const kind of ['schedule', 'retry'] as const) {
    const p = streams[kind];
    for (let i = 0; i < scale[kind]; i++) yield setEntry(p, routing, kind);
  }
  const layout = queueLayout(routing);
  for (let i = 0; i < scale.queued; i++) yield queuedJob(streams.queued, layout);
}

function setEntry(p: Prng, routing: BenchRouting, kind: 'schedule' | 'retry'): BenchJob {
  const worker = p.pick(routing.workers);
  const parts = gitlabPayload(p, worker, kind);
  // Due times: within a week for scheduled jobs, within a day for retries (backoff).
  const due = 1_795_459_303 + p.int(0, kind === 'schedule' ? 604_800 : 86_400) + p.float();
  const routed = p.chance(SETTINGS.alreadyRoutedShare);
  const original = withQueue(parts, routed ? worker.destination : worker.ownQueue);
  return { kind, where: kind, score: String(due), original, rewritten: routed ? null : withQueue(parts, worker.destination), destination: worker.destination };
}

function queuedJob(p: Prng, layout: QueueLayout): BenchJob {
  const r = p.float();
  const index = layout.cumulative.findIndex((c) => r < c);
  const slot = index === -1 ? layout.cumulative.length - 1 : index;
  if (slot < layout.retired.length) {
    const worker = layout.retired[slot]!;
    const parts = gitlabPayload(p, worker, 'queued');
    return { kind: 'queued', where: worker.ownQueue, score: '', original: withQueue(parts, worker.ownQueue), rewritten: withQueue(parts, worker.destination), destination: worker.destination };
  }
  const { queue, workers } = layout.kept[slot - layout.retired.length]!;
  const parts = gitlabPayload(p, p.pick(workers), 'queued');
  return { kind: 'queued', where: queue, score: '', original: withQueue(parts, queue), rewritten: null, destination: queue };
}
