import { InputError } from '../errors/input-error.js';
import { unencodableQueueName } from '../payload/encode-json-string.js';

/**
 * Parses `--rename OLD=NEW` arguments into old → new queue names. Refused, all at once: a missing
 * `=` or side, a queue renamed to itself, one queue renamed twice, and chains (`a=b` with `b=c`),
 * since a job moved to `b` would then be moved again and where it ends depends on timing.
 */
export function parseQueueRenames(specs: readonly string[]): Map<string, string> {
  const problems: string[] = [];
  const renames = new Map<string, string>();
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const from = eq < 0 ? '' : spec.slice(0, eq);
    const to = eq < 0 ? '' : spec.slice(eq + 1);
    if (from === '' || to === '') problems.push(`"${spec}": expected OLD=NEW, e.g. --rename mailers_old=mailers`);
    else if (from === to) problems.push(`"${spec}": the queue is renamed to itself`);
    else if (unencodableQueueName(to) !== null) problems.push(`"${spec}": the queue ${unencodableQueueName(to)}`);
    else if (renames.has(from) && renames.get(from) !== to) problems.push(`"${spec}": ${from} is already renamed to ${renames.get(from)}`);
    else renames.set(from, to);
  }
  for (const [from, to] of renames) {
    if (renames.has(to)) problems.push(`"${from}=${to}": ${to} is itself renamed to ${renames.get(to)}; rename ${from}=${renames.get(to)} instead`);
  }
  if (problems.length > 0) throw new InputError(`Invalid --rename:\n  - ${problems.join('\n  - ')}`);
  return renames;
}
