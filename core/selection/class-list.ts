import { InputError } from '../errors/input-error.js';

/**
 * `--classes A,B`: exact worker class names (the class routing sees: Sidekiq's `class`, or
 * ActiveJob's `wrapped`), comma-separated, spaces around names ignored, each once.
 */
export function parseClassList(text: string, option = '--classes'): string[] {
  const names = [...new Set(text.split(',').map((s) => s.trim()).filter(Boolean))];
  if (names.length === 0) throw new InputError(`${option}: no class named (give exact worker class names, e.g. ${option} Projects::ImportWorker,MergeWorker)`);
  return names;
}
