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

/**
 * The error as said to the user, without a final newline: its message, then where, what was
 * expected and the other problems found with it, each on its own line. The CLI prints it; a
 * function's InvalidInputError carries it (functions/support/task-error.ts), so that an execution
 * started without the CLI says the same.
 */
export function inputErrorText(error: InputError): string {
  return [
    error.message,
    ...(error.where ? [`  (in ${error.where})`] : []),
    ...(error.expected ? [`  (${error.expected})`] : []),
    ...(error.more ? [`  ${error.more.heading}`, ...error.more.items.map((item) => `  - ${item}`)] : []),
  ].join('\n');
}
