import { readFileSync } from 'node:fs';
import { InputError } from '../errors/input-error.js';

/** Reads a user-supplied file as UTF-8; `what` names its role: "Cannot read the worker catalog x.yml: no such file". */
export function readInputFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (cause as Error).message;
    throw new InputError(`Cannot read the ${what} ${path}: ${reason}`, { cause });
  }
}
