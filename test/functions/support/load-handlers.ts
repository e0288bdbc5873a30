import type { Context } from 'aws-lambda';
import { vi } from 'vitest';
import type { LambdaConnections } from '../../../functions/support/lambda-connections.js';

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** Every exported handler of functions/, loaded as one Lambda container would load them. */
export interface LoadedHandlers {
  readonly plan: Handler;
  readonly rerouteSetPage: Handler;
  readonly rerouteQueueSlice: Handler;
  readonly transferSet: Handler;
  readonly transferQueue: Handler;
  readonly summarize: Handler;
  readonly releaseLock: Handler;
  readonly drainCheck: Handler;
  /** The container's connection provider (module scope), to check reuse and to close it. */
  readonly connections: LambdaConnections;
}

/**
 * A cold start: sets the environment (SIDEKIQ_MIGRATE_* replaced by `env`), forgets the loaded
 * modules and imports the handler modules again, so that they read `env` at module load exactly
 * as a new Lambda container does. Call `vi.unstubAllEnvs()` afterwards.
 */
export async function coldStart(env: Readonly<Record<string, string>>): Promise<LoadedHandlers> {
  for (const name of Object.keys(process.env)) if (name.startsWith('SIDEKIQ_MIGRATE_')) vi.stubEnv(name, undefined);
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  vi.resetModules();
  const [plan, rerouteSetPage, rerouteQueueSlice, transferSet, transferQueue, summarize, releaseLock, drainCheck, container] = await Promise.all([
    import('../../../functions/plan.js'),
    import('../../../functions/reroute-set-page.js'),
    import('../../../functions/reroute-queue-slice.js'),
    import('../../../functions/transfer-set.js'),
    import('../../../functions/transfer-queue.js'),
    import('../../../functions/summarize.js'),
    import('../../../functions/release-lock.js'),
    import('../../../functions/drain-check.js'),
    import('../../../functions/support/container.js'),
  ]);
  const h = (m: { handler: unknown }) => m.handler as Handler;
  return {
    plan: h(plan),
    rerouteSetPage: h(rerouteSetPage),
    rerouteQueueSlice: h(rerouteQueueSlice),
    transferSet: h(transferSet),
    transferQueue: h(transferQueue),
    summarize: h(summarize),
    releaseLock: h(releaseLock),
    drainCheck: h(drainCheck),
    connections: container.connections,
  };
}
