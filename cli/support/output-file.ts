import { accessSync, constants, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { InputError } from '../../core/errors/input-error.js';
import { shownPath } from '../../core/config/shown-path.js';

/**
 * Refuses a file the command is asked to write (`what`: "drain report") when it cannot be
 * written, before the command reads or touches anything: a check that runs and then cannot save
 * its report would lose it.
 */
export function checkOutputFile(path: string, what: string): void {
  const refuse = (reason: string, cause?: unknown): never => {
    throw new InputError(`Cannot write the ${what} to ${shownPath(path)}: ${reason}`, cause === undefined ? undefined : { cause });
  };
  // A blank name would be written as a file named with blanks in the current directory (a read of
  // such a name is refused as no such file): refused as the slip it is.
  if (path.trim() === '') refuse('the name is blank: give a file path');
  let isDirectory: boolean | undefined;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    isDirectory = undefined; // not there yet: its directory must take it
  }
  if (isDirectory) refuse('it is a directory');
  const target = isDirectory === undefined ? dirname(path) : path;
  try {
    accessSync(target, constants.W_OK);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') refuse(`its directory ${target} does not exist`, cause);
    refuse(code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (cause as Error).message, cause);
  }
}

/** Writes a file checked by `checkOutputFile`; a failure still names the file and the reason. */
export function writeOutputFile(path: string, text: string, what: string): void {
  try {
    writeFileSync(path, text);
  } catch (cause) {
    throw new InputError(`Cannot write the ${what} to ${shownPath(path)}: ${(cause as Error).message}`, { cause });
  }
}
