import { createHash } from 'node:crypto';
import { inspectJob } from '../payload/inspect-job.js';
import { routedClass } from '../routing/routed-class.js';

/** What a selective transfer does with one member: take it (its routed class is selected) or leave it. */
export type Selection =
  | { readonly take: true; readonly className: string }
  | { readonly take: false; readonly unparsable: true }
  /** `queue`: the payload's top-level `queue`, null when absent (Sidekiq reads "default"). */
  | { readonly take: false; readonly unparsable: false; readonly queue: string | null };

/**
 * Whether a payload belongs to the selection, by the class routing sees (routed-class.ts, the one
 * definition: `wrapped` for an ActiveJob wrapper, else `class`), read by inspectJob like every
 * other decision. A payload we cannot read is never taken: we cannot tell its class.
 */
export function selectJob(payload: Buffer, classes: ReadonlySet<string>): Selection {
  const job = inspectJob(payload);
  if (job.kind === 'unparsable') return { take: false, unparsable: true };
  const className = routedClass(job.className, job.wrapped);
  return classes.has(className) ? { take: true, className } : { take: false, unparsable: false, queue: job.queue };
}

/** A member's identity in a cursor: its SHA-1 (cursors go into Step Functions state, payloads never do). */
export function memberDigest(member: Buffer): string {
  return createHash('sha1').update(member).digest('hex');
}
