import { readFileSync } from 'node:fs';
import { InputError } from '../errors/input-error.js';

/**
 * Reads a user-supplied file as UTF-8; `what` names its role: "Cannot read the worker catalog x.yml: no such file".
 * A leading byte order mark (U+FEFF, which Windows editors write) is no part of the content: left
 * in, a YAML list after it (a catalog without its header comment, a rule list, a classes file) was
 * "not valid JSON or YAML", and a JSON drain report not JSON. Every reader of a user's file comes
 * through here (catalogs, rules, mappings, classes files, the configuration file, CA files, drain reports).
 */
export function readInputFile(path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (cause as Error).message;
    throw new InputError(`Cannot read the ${what} ${path}: ${reason}`, { cause });
  }
  return withoutByteOrderMark(text);
}

/**
 * A file's text without its leading byte order mark (U+FEFF), as readInputFile reads it: for the
 * readers that name their errors their own way and read the same files (the functions' CA file,
 * functions/support/lambda-connections.ts; the deployment's check of it, infra/constructs/redis-endpoint.ts).
 */
export function withoutByteOrderMark(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
