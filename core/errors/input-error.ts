import { FatalError } from './sidekiq-migrate-error.js';

/**
 * Bad input from the user: a malformed query, rule, catalog, file or flag. Nothing has been
 * touched when one of these is raised; the CLI prints the message alone and exits with 2.
 */
export class InputError extends FatalError {
  /** Where the bad input is (a file, a rule, a flag), when the message itself does not say. */
  where?: string;
  /** What was expected there, when the message (GitLab's, kept verbatim) does not say. */
  expected?: string;
  /** More problems of the same input found with this one (their own where first), said after it. */
  more?: { readonly heading: string; readonly items: readonly string[] };
}
