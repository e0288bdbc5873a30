import { InputError } from '../../errors/input-error.js';

/** A worker matching query GitLab would refuse. Messages are GitLab's, word for word. */
export class QueryError extends InputError {}

/** The term does not start with `attribute=values` or `attribute!=values`. */
export class InvalidTermError extends QueryError {
  constructor(readonly term: string) {
    super(`Invalid term: ${term}`);
  }
}

/** The attribute is not one GitLab lets you query (`weight`, `idempotent`, `URGENCY`, …). */
export class UnknownPredicateError extends QueryError {
  constructor(readonly predicate: string) {
    super(`Unknown predicate: ${predicate}`);
  }
}
