import { InputError } from '../errors/input-error.js';
import { destinationNameProblem } from './destination-name.js';
import { shortened } from './queue-name-bytes.js';

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

/** Characters of a rename shown in its problem (a long destination would drown the message). */
const SHOWN_RENAME_CHARS = 44;

function checkQueueRenames(specs: readonly QueueRename[]): Map<string, string> {
  const problems: string[] = [];
  const renames = new Map<string, string>();
  for (const { from, to, text } of specs) {
    if (from === '' || to === '') problems.push(`"${text}": expected OLD=NEW, e.g. --rename mailers_old=mailers`);
    else if (from === to) problems.push(`"${text}": the queue is renamed to itself`);
    // The old name may be odd: renaming such a queue to a proper name is how its jobs are rescued.
    else if (destinationNameProblem(to)) problems.push(`"${shortened(text, SHOWN_RENAME_CHARS)}": ${destinationNameProblem(to)}`);
    else if (renames.has(from) && renames.get(from) !== to) problems.push(`"${text}": ${from} is already renamed to ${renames.get(from)}`);
    else renames.set(from, to);
  }
  const inCycle = new Set<string>();
  for (const [from, to] of renames) {
    if (!renames.has(to) || inCycle.has(from)) continue;
    const { path, loops } = followRenames(renames, from);
    if (loops && path[0] === from && path.at(-1) === from) {
      // No name outside it to point at: "rename a=X instead" would only move the loop.
      path.forEach((queue) => inCycle.add(queue));
      problems.push(`"${from}=${to}": the renames form a cycle (${path.join(' → ')}): a job moved along it would be moved again; rename through a queue that no rename drains, in separate runs`);
    } else {
      problems.push(`"${from}=${to}": ${to} is itself renamed to ${renames.get(to)}${loops ? '' : `; rename ${from}=${path.at(-1)} instead`}`);
    }
  }
  if (problems.length > 0) throw new InputError(`Invalid --rename:\n  - ${problems.join('\n  - ')}`);
  return renames;
}

/**
 * The queues a job of `from` would pass through, renamed again and again: up to one no rename
 * drains, or up to the first queue seen twice (`loops`), which is `from` itself in a cycle.
 */
function followRenames(renames: ReadonlyMap<string, string>, from: string): { path: string[]; loops: boolean } {
  const path = [from];
  const seen = new Set(path);
  for (let next = renames.get(from); next !== undefined; next = renames.get(next)) {
    path.push(next);
    if (seen.has(next)) return { path, loops: true };
    seen.add(next);
  }
  return { path, loops: false };
}
