import { InputError } from '../errors/input-error.js';

/** Options or configuration that fail the schema; the message lists every problem at once. */
export class ConfigError extends InputError {
  constructor(readonly problems: readonly string[], heading = 'Invalid options:') {
    // A problem of several lines (a file's, with where it is) is indented under its dash.
    super(problems.length === 1 ? problems[0]! : `${heading}\n  - ${problems.map((p) => p.replaceAll('\n', '\n    ')).join('\n  - ')}`);
  }
}
