import { createHash } from 'node:crypto';
import type { JobFields } from '../payload/inspect-job.js';
import type { Unparsable } from '../payload/unparsable.js';

/**
 * The id under which a transferred job is recorded in the run's ledger: its jid when it has one,
 * otherwise a digest of its exact bytes (an unparsable payload is still carried over, verbatim,
 * and still only once).
 */
export function ledgerId(payload: Buffer, job: JobFields | Unparsable): string {
  if (job.kind === 'job' && job.jid !== null && job.jid !== '') return `jid:${job.jid}`;
  return `sha1:${createHash('sha1').update(payload).digest('hex')}`;
}
