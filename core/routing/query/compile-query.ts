import type { WorkerMetadata } from '../catalog/worker-metadata.js';
import { PREDICATES, type Predicate } from './predicates.js';
import { InvalidTermError, UnknownPredicateError } from './query-errors.js';
import type { QueryQuirk } from './query-quirk.js';
import { rubySplit, rubyStrip } from './ruby-split.js';

/** A query compiled once, evaluated for many workers. */
export interface CompiledQuery {
  readonly source: string;
  matches(worker: WorkerMetadata): boolean;
  /** Accepted-but-surprising parts of the query, in the order they appear. */
  readonly quirks: readonly QueryQuirk[];
  /** True when the query matches every worker whatever the catalog (`*`, or an empty alternative). */
  readonly universal: boolean;
}

interface Term {
  readonly predicate: Predicate;
  readonly negated: boolean;
  readonly values: ReadonlySet<string>;
}

// GitLab's term pattern. It is tried at the start of every *line* of the term (Ruby's `^`),
// and whatever follows the match is ignored. `\w` is ASCII-only in Ruby as in JavaScript.
const TERM = /^(\w+)(!?=)([\w:,]+)/;

/**
 * Compiles a worker matching query with GitLab's grammar and errors (gitlab-reference §4):
 * `|` binds loosest, then `&`, then `=`/`!=`, then `,`; no parentheses, quoting or trimming;
 * a query that is `*` (surrounding whitespace allowed) matches every worker. Errors are raised
 * here, not at evaluation, by the first bad term from the left.
 */
export function compileQuery(query: string): CompiledQuery {
  const quirks: QueryQuirk[] = [];
  if (rubyStrip(query) === '*') return { source: query, matches: () => true, quirks, universal: true };

  if (query === '') quirks.push({ code: 'empty-query', message: 'The query is empty: it matches no worker.' });
  if (/\|+$/.test(query) && query !== '') {
    quirks.push({ code: 'trailing-separator', message: `The trailing "|" of ${JSON.stringify(query)} is ignored.` });
  }

  const branches = rubySplit(query, '|').map((branch) => {
    const terms = rubySplit(branch, '&');
    if (terms.length === 0) {
      quirks.push({
        code: 'empty-branch',
        message: `${JSON.stringify(query)} has an empty alternative between "|" separators: it matches every worker.`,
      });
    } else if (/&+$/.test(branch)) {
      quirks.push({ code: 'trailing-separator', message: `The trailing "&" of ${JSON.stringify(branch)} is ignored.` });
    }
    return terms.map((term) => compileTerm(term, quirks));
  });

  const matches = (worker: WorkerMetadata) => branches.some((terms) => terms.every((t) => termHolds(t, worker)));
  const universal = branches.some((terms) => terms.length === 0);
  return { source: query, matches, quirks, universal };
}

function compileTerm(term: string, quirks: QueryQuirk[]): Term {
  const lines = term.split('\n');
  const lineIndex = lines.findIndex((line) => TERM.test(line));
  if (lineIndex < 0) throw new InvalidTermError(term);
  const [matched, attribute, operator, rhs] = TERM.exec(lines[lineIndex]!)! as unknown as [string, string, string, string];

  const predicate = Object.hasOwn(PREDICATES, attribute) ? PREDICATES[attribute] : undefined;
  if (predicate === undefined) throw new UnknownPredicateError(attribute);

  if (lineIndex > 0) {
    quirks.push({
      code: 'later-line',
      message: `The term ${JSON.stringify(term)} is read from its line ${lineIndex + 1} as ${JSON.stringify(matched)}; the lines before it are ignored.`,
    });
  }
  if (matched.length < lines[lineIndex]!.length || lineIndex < lines.length - 1) {
    quirks.push({
      code: 'trailing-junk',
      message: `The term ${JSON.stringify(term)} is read as ${JSON.stringify(matched)}: GitLab ignores what follows the first character that is not a letter, digit, "_", ":" or ",".`,
    });
  }
  const values = rubySplit(rhs, ',');
  if (values.length < rhs.split(',').length) {
    quirks.push({ code: 'trailing-separator', message: `The trailing "," of ${JSON.stringify(matched)} is ignored.` });
  }
  if (values.includes('')) {
    quirks.push({ code: 'empty-value', message: `${JSON.stringify(matched)} lists an empty value, which no worker has.` });
  }
  // Matched as GitLab does, but `=TRUE`, `=yes` or `=1` selecting the workers *without* external
  // dependencies is the opposite of what its author meant.
  const falsy = attribute === 'has_external_dependencies' ? values.filter((v) => v !== 'true' && v !== 'false' && v !== '') : [];
  if (falsy.length > 0) {
    quirks.push({
      code: 'boolean-value',
      message: `${JSON.stringify(matched)}: GitLab takes every value but "true" for false (${falsy.map((v) => JSON.stringify(v)).join(', ')}), so ${falsy.length === 1 ? 'it stands' : 'they stand'} for the workers without external dependencies.`,
    });
  }
  return { predicate, negated: operator === '!=', values: new Set(values.map((v) => predicate.queryValue(v))) };
}

function termHolds(term: Term, worker: WorkerMetadata): boolean {
  let intersects = false;
  for (const value of term.predicate.workerValues(worker)) {
    if (term.values.has(value)) {
      intersects = true;
      break;
    }
  }
  return term.negated ? !intersects : intersects;
}
