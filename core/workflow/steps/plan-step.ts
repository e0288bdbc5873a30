import { validateConfig } from '../../config/validate-config.js';
import { assertTransferSafe, readEvictionPolicy } from '../../redis/eviction-policy.js';
import { RunLock } from '../../redis/run-lock.js';
import type { SortedSetName } from '../../redis/sidekiq-keys.js';
import { findDrainedQueues } from '../../reroute/drained-queues.js';
import { discoverQueues } from '../../reroute/discover-queues.js';
import { emptyCounters } from '../../reroute/reroute-counters.js';
import { emptyTransferCounters, type TransferCounters } from '../../transfer/transfer-counters.js';
import { resumeInflight } from '../../transfer/resume-inflight.js';
import type { Connection, ConnectionProvider } from '../connections.js';
import { resolveRouting } from '../resolve-routing.js';
import { serializeRouting, storeRouting } from '../stored-routing.js';
import type { RunSettings, WorkItem } from '../work-item.js';
import { continuationInputSchema, workflowInputSchema, type WorkflowInput } from '../workflow-input.js';

/** How long a run's lock lives without renewal: longer than any one page step (Lambda ≤ 15 min). */
export const RUN_LOCK_TTL_MS = 20 * 60_000;

export interface PlanOutput {
  readonly settings: RunSettings;
  readonly items: WorkItem[];
  /** What this step finished of transfers left in flight by interrupted runs (zeros otherwise). */
  readonly resumed: TransferCounters;
  /** Each Redis's `maxmemory-policy` (null: not reported), shown and warned about by the CLI. */
  readonly memoryPolicies?: { readonly source: string | null; readonly target?: string | null };
}

/**
 * "Plan migration": validates the execution input (every problem at once), connects, takes the
 * run lock (unless a dry run), stores the routing once, finishes transfers left in flight, and
 * lists the work items — every selected set, and every queue to drain (re-route: those that are
 * not routing destinations; transfer: all). A continued execution gets back its one item.
 */
export async function planStep(rawInput: unknown, connections: ConnectionProvider): Promise<PlanOutput> {
  if (typeof rawInput === 'object' && rawInput !== null && 'continuation' in rawInput) return continuePlan(rawInput, connections);
  const input = validateConfig(workflowInputSchema, rawInput, (path) => `input.${path.join('.')}`);
  const source = await connections.get(input.source);
  const target = input.mode === 'transfer' ? await connections.get(input.target!) : undefined;

  // Read before anything is written: a transfer refuses a Redis that may evict any key.
  const memoryPolicies = { source: await readEvictionPolicy(source.redis), ...(target ? { target: await readEvictionPolicy(target.redis) } : {}) };
  if (input.mode === 'transfer' && !input.dryRun) {
    assertTransferSafe(`source ${source.name}`, memoryPolicies.source);
    assertTransferSafe(`target ${target!.name}`, memoryPolicies.target ?? null);
  }
  const locks: RunLock[] = [];
  try {
    if (!input.dryRun) {
      // A new execution: it may resume a stopped run of the same id (see stopRunStep).
      const holder = { runId: input.runId, operation: input.mode };
      const options = { newExecution: true };
      locks.push(await RunLock.acquire(source.redis, source.keys.prefix, holder, RUN_LOCK_TTL_MS, `source ${source.name}`, options));
      if (target) locks.push(await RunLock.acquire(target.redis, target.keys.prefix, holder, RUN_LOCK_TTL_MS, `target ${target.name}`, options));
    }
    const planned = await planWork(input, source, target);
    // Only now, holding every lock and planned, lift a stop: a plan that fails leaves the run stopped.
    for (const lock of locks) await lock.resume();
    return { ...planned, memoryPolicies };
  } catch (error) {
    // The state machine only releases locks of a run whose plan it has; a failed plan cleans up here.
    await Promise.allSettled(locks.map((l) => l.release()));
    throw error;
  }
}

async function planWork(input: WorkflowInput, source: Connection, target: Connection | undefined): Promise<PlanOutput> {
  const plan = input.routing ? await resolveRouting(input.routing, source, input.runId) : undefined;
  if (plan && !input.dryRun) await storeRouting(source.redis, source.keys.prefix, input.runId, plan);

  const settings: RunSettings = {
    runId: input.runId,
    mode: input.mode,
    source: input.source,
    target: input.target,
    dryRun: input.dryRun,
    pageSize: input.pageSize,
    rateLimit: input.rateLimit,
    unmapped: input.unmapped,
    placement: input.placement,
    pagesPerInvocation: input.pagesPerInvocation,
    maxIterations: input.maxIterations,
    routed: plan !== undefined,
    ...(plan && input.dryRun ? { inlineRouting: serializeRouting(plan) } : {}),
  };
  const fresh = (kind: 'set' | 'queue', name: string): WorkItem => ({
    kind,
    name,
    cursor: null,
    done: false,
    iteration: 0,
    counters: input.mode === 'reroute' ? emptyCounters() : emptyTransferCounters(),
  });

  const items = input.sets.map((set) => fresh('set', set));
  let resumed = emptyTransferCounters();
  if (input.mode === 'transfer' && target && !input.dryRun) {
    resumed = await resumeInflight({ source: source.redis, target: target.redis, sourceKeys: source.keys, targetKeys: target.keys, runId: input.runId, plan, dryRun: false }, input.placement);
  }
  if (input.queues) {
    const queues = input.mode === 'reroute' ? (await findDrainedQueues(source.redis, source.keys, plan!)).drained : (await discoverQueues(source.redis, source.keys)).queues;
    items.push(...queues.map((queue) => fresh('queue', queue)));
  }
  const sizes = source.redis.pipeline();
  for (const item of items) {
    if (item.kind === 'set') sizes.zcard(source.keys.sortedSet(item.name as SortedSetName));
    else sizes.llen(source.keys.queue(item.name));
  }
  const totals = items.length === 0 ? [] : ((await sizes.exec()) ?? []);
  return { settings, items: items.map((item, i) => ({ ...item, total: Number(totals[i]?.[1] ?? 0) })), resumed };
}

/**
 * A continued execution: the same run (its lock is taken again, its routing is stored), one item,
 * its loop count back to zero.
 */
async function continuePlan(rawInput: unknown, connections: ConnectionProvider): Promise<PlanOutput> {
  const { continuation } = validateConfig(continuationInputSchema, rawInput, (path) => `input.${path.join('.')}`);
  const settings = continuation.settings as unknown as RunSettings;
  const item = continuation.item as unknown as WorkItem;
  if (!settings.dryRun) {
    const holder = { runId: settings.runId, operation: settings.mode };
    for (const name of [settings.source, ...(settings.target ? [settings.target] : [])]) {
      const c = await connections.get(name);
      await RunLock.acquire(c.redis, c.keys.prefix, holder, RUN_LOCK_TTL_MS, `${name} ${c.name}`);
    }
  }
  return { settings, items: [{ ...item, iteration: 0, continues: continuation.from ?? item.continues }], resumed: emptyTransferCounters() };
}
