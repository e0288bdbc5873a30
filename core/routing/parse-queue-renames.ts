import { InputError } from '../errors/input-error.js';
import { unencodableQueueName } from '../payload/encode-json-string.js';

/** One rename as given: the old and new queue names, and how messages quote it. */
interface QueueRename {
  readonly from: string;
  readonly to: string;
  readonly text: string;
}

/**
 * Parses `--rename OLD=NEW` arguments into old → new queue names. Refused, all at once: a missing
 * `=` or side, a queue renamed to itself, one queue renamed twice, and chains (`a=b` with `b=c`),
 * since a job moved to `b` would then be moved again and where it ends depends on timing.
 */
export function parseQueueRenames(specs: readonly string[]): Map<string, string> {
  return checkQueueRenames(
    specs.map((text) => {
      const eq = text.indexOf('=');
      return { text, from: eq < 0 ? '' : text.slice(0, eq), to: eq < 0 ? '' : text.slice(eq + 1) };
    }),
  );
}

/**
 * Renames given as old → new pairs (an execution input's `renames`), checked as `--rename`'s are.
 * Never joined into OLD=NEW and split again: an old name holding "=" would be cut there.
 */
export function queueRenamesOf(pairs: Iterable<readonly [string, string]>): Map<string, string> {
  return checkQueueRenames([...pairs].map(([from, to]) => ({ from, to, text: `${from}=${to}` })));
}

function checkQueueRenames(specs: readonly QueueRename[]): Map<string, string> {
  const problems: string[] = [];
  const renames = new Map<string, string>();
  for (const { from, to, text } of specs) {
    if (from === '' || to === '') problems.push(`"${text}": expected OLD=NEW, e.g. --rename mailers_old=mailers`);
    else if (from === to) problems.push(`"${text}": the queue is renamed to itself`);
    else if (unencodableQueueName(to) !== null) problems.push(`"${text}": the queue ${unencodableQueueName(to)}`);
    else if (renames.has(from) && renames.get(from) !== to) problems.push(`"${text}": ${from} is already renamed to ${renames.get(from)}`);
    else renames.set(from, to);
  }
  for (const [from, to] of renames) {
    if (renames.has(to)) problems.push(`"${from}=${to}": ${to} is itself renamed to ${renames.get(to)}; rename ${from}=${renames.get(to)} instead`);
  }
  if (problems.length > 0) throw new InputError(`Invalid --rename:\n  - ${problems.join('\n  - ')}`);
  return renames;
}
