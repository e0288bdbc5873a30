import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { InputError } from '../errors/input-error.js';

/**
 * Reads a JSON or YAML file (YAML is a superset of JSON, so one parser serves both). Merge keys
 * (`<<: *base`) are honoured because GitLab's `gitlab.yml` relies on them. `what` names the file's
 * role in messages: "Cannot read the routing rules file rules.yml: ENOENT …".
 */
export function readStructuredFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (cause as Error).message;
    throw new InputError(`Cannot read the ${what} ${path}: ${reason}`, { cause });
  }
  try {
    return parse(text, { merge: true, uniqueKeys: true, prettyErrors: false });
  } catch (cause) {
    throw new InputError(`The ${what} ${path} is not valid JSON or YAML: ${(cause as Error).message.split('\n')[0]}`, { cause });
  }
}
