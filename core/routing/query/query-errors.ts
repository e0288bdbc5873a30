import { InputError } from '../../errors/input-error.js';

/** A worker matching query GitLab would refuse. Messages begin with GitLab's, word for word. */
export class QueryError extends InputError {}

/**
 * The term does not start with `attribute=values` or `attribute!=values`. GitLab's message, and
 * for the terms it leaves unreadable (empty, or with spaces around it) what is wrong with them.
 */
export class InvalidTermError extends QueryError {
  constructor(readonly term: string) {
    super(`Invalid term: ${term}${invisibleProblem(term)}`);
  }
}

function invisibleProblem(term: string): string {
  if (term.trim() === '') return term === '' ? ' (an empty term: "&" or "|" with nothing on one side of it)' : ` (a term of spaces only: ${JSON.stringify(term)})`;
  if (term.trim() !== term) return ` (the term is ${JSON.stringify(term)}: spaces count, so write "a=b|c=d" without spaces around "|" and "&")`;
  return '';
}

/** The attribute is not one GitLab lets you query (`weight`, `idempotent`, `URGENCY`, …). */
export class UnknownPredicateError extends QueryError {
  constructor(readonly predicate: string) {
    super(`Unknown predicate: ${predicate}`);
  }
}
