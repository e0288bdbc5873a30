import { InputError } from '../errors/input-error.js';

/** Options or configuration that fail the schema; the message lists every problem at once. */
export class ConfigError extends InputError {
  constructor(readonly problems: readonly string[]) {
    super(problems.length === 1 ? problems[0]! : `Invalid options:\n  - ${problems.join('\n  - ')}`);
  }
}
