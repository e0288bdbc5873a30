import { confirmReplicated, socketOf } from '../redis/replica-wait.js';
import type { TransferContext } from './transfer-options.js';

type Sides = Pick<TransferContext, 'source' | 'target' | 'sourceName' | 'targetName' | 'plannedReplicas' | 'askedReplicas' | 'replicationFences' | 'writtenElsewhere'>;

/**
 * The two waits of claim → copy → acknowledge across two servers (replica-wait.ts), each before
 * the step that makes the one before it irreversible:
 * - the claim on the source, before its copy is written to the target: a source failover that
 *   forgot the claim would put the jobs back on their queues while the target has them too;
 * - the copy on the target, before the source acknowledges it: a target failover that lost the
 *   copy would lose jobs the source no longer has.
 * A re-route inside one Redis needs neither: each of its moves is one Lua call, replicated whole.
 */
export function claimReplicated(context: Sides, sourceKey: string, wroteOn?: unknown, wroteNothing?: boolean): Promise<void> {
  return confirmReplicated(context.source, {
    doing: `Claiming from ${sourceKey}`,
    role: 'source',
    name: context.sourceName,
    ...(context.plannedReplicas ? { planned: context.plannedReplicas.source } : {}),
    ...(context.askedReplicas?.source ? { asked: { replicas: context.askedReplicas.source, option: '--from-replicas' } } : {}),
    // The socket the claim was sent on (sourceSocket), when known: see copyReplicated.
    ...(wroteOn !== undefined ? { wroteOn } : {}),
    ...(context.replicationFences ? { fence: context.replicationFences.source } : {}),
    ...(context.writtenElsewhere ? { writtenElsewhere: true } : {}),
    // Claimed nothing new (only jobs an earlier attempt left in flight): its WAIT covers a fence (replica-wait.ts).
    ...(wroteNothing ? { wroteNothing: true } : {}),
    leaves: 'nothing of it was written to the target. The claimed jobs stay in flight on the source; the next attempt (or run) writes them once the replicas have them.',
  });
}

/**
 * See claimReplicated. `wroteOn`: the target connection's socket before the copy was sent
 * (targetSocket): a WAIT on another one covers a write of its own first (replica-wait.ts), as does
 * one after a copy that wrote nothing (`wroteNothing`).
 */
export function copyReplicated(context: Sides, sourceKey: string, wroteOn: unknown, wroteNothing?: boolean): Promise<void> {
  return confirmReplicated(context.target, {
    doing: `Writing the jobs of ${sourceKey} to the target`,
    role: 'target',
    name: context.targetName,
    ...(context.plannedReplicas ? { planned: context.plannedReplicas.target } : {}),
    ...(context.askedReplicas?.target ? { asked: { replicas: context.askedReplicas.target, option: '--to-replicas' } } : {}),
    wroteOn,
    ...(context.replicationFences ? { fence: context.replicationFences.target } : {}),
    ...(context.writtenElsewhere ? { writtenElsewhere: true } : {}),
    // The copy wrote none of the jobs (the ledger had them all): its WAIT covers a fence (replica-wait.ts).
    ...(wroteNothing ? { wroteNothing: true } : {}),
    leaves: 'the source did not acknowledge them. They stay in flight on the source; the next attempt (or run) finishes them through the run\'s ledger, writing none twice.',
  });
}

/** The socket the target connection is on before a copy is sent (copyReplicated's `wroteOn`). */
export function targetSocket(context: Pick<TransferContext, 'target'>): unknown {
  return socketOf(context.target);
}

/** The socket the source connection is on before a claim is sent (claimReplicated's `wroteOn`). */
export function sourceSocket(context: Pick<TransferContext, 'source'>): unknown {
  return socketOf(context.source);
}
