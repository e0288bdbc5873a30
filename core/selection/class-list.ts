import { commaList, emptyEntriesProblem } from '../config/comma-list.js';
import { InputError } from '../errors/input-error.js';

/**
 * `--classes A,B`: exact worker class names (the class routing sees: Sidekiq's `class`, or
 * ActiveJob's `wrapped`), comma-separated, spaces around names ignored, each once; an empty entry
 * (`A,,B`) refused, with its position.
 */
export function parseClassList(text: string, option = '--classes'): string[] {
  const empty = text.trim() === '' ? undefined : emptyEntriesProblem(text, `exact worker class names`, 'Projects::ImportWorker,MergeWorker');
  if (empty) throw new InputError(`${option}: ${empty}`);
  const names = commaList(text);
  if (names.length === 0) throw new InputError(`${option}: no class named (give exact worker class names, e.g. ${option} Projects::ImportWorker,MergeWorker)`);
  return names;
}
