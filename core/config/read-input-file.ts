import { closeSync, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { InputError } from '../errors/input-error.js';
import { shownPath } from './shown-path.js';

/**
 * The text of each input that is not a regular file (a pipe: bash's `--rules <(kubectl exec … cat
 * gitlab.yml)`, /dev/stdin), by path and device/inode: such an input can be read once, and a
 * command may read a file twice (its refusals, said with the options' problems, read the files
 * before the command does: validate-config.ts). Read again, it was empty, and valid input refused.
 */
const readOnce = new Map<string, string>();

/**
 * Reads a user-supplied file as UTF-8; `what` names its role: "Cannot read the worker catalog x.yml: no such file".
 * A leading byte order mark (U+FEFF, which Windows editors write) is no part of the content: left
 * in, a YAML list after it (a catalog without its header comment, a rule list, a classes file) was
 * "not valid JSON or YAML", and a JSON drain report not JSON. Every reader of a user's file comes
 * through here (catalogs, rules, mappings, classes files, the configuration file, CA files, drain reports).
 * A pipe's text is remembered (readOnce): read a second time, it gives what it gave the first.
 */
export function readInputFile(path: string, what: string): string {
  let text: string;
  let once: string | undefined;
  try {
    // stat does not open: a named pipe's writer is not consumed by it.
    const seen = statSync(path);
    if (!seen.isFile() && !seen.isDirectory()) {
      once = `${path}\0${seen.dev}:${seen.ino}`;
      const remembered = readOnce.get(once);
      if (remembered !== undefined) return remembered;
    }
    const fd = openSync(path, 'r');
    try {
      // The file opened, as a pipe may have been replaced since the stat.
      if (once !== undefined && fstatSync(fd).isFile()) once = undefined;
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (cause as Error).message;
    throw new InputError(`Cannot read the ${what} ${shownPath(path)}: ${reason}`, { cause });
  }
  text = withoutByteOrderMark(text);
  if (once !== undefined) readOnce.set(once, text);
  return text;
}

/**
 * A file's text without its leading byte order mark (U+FEFF), as readInputFile reads it: for the
 * readers that name their errors their own way and read the same files (the functions' CA file,
 * functions/support/lambda-connections.ts; the deployment's check of it, infra/constructs/redis-endpoint.ts).
 */
export function withoutByteOrderMark(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
