import { readStructuredFile } from '../config/read-structured-file.js';
import { InputError } from '../errors/input-error.js';
import { loadClassMapping } from '../routing/load-class-mapping.js';

/** A classes file: the classes to carry, and, in its mapping form, the queue each goes to on the target. */
export interface ClassesFile {
  readonly classes: string[];
  /** Present in the `class: queue` form: the selected classes are re-routed there on the way. */
  readonly mapping?: ReadonlyMap<string, string>;
}

/**
 * `--classes-file FILE` (JSON or YAML), for applications that are not GitLab: either a list of
 * class names, or a mapping `"WorkerClass": "queue"` (load-class-mapping.ts's format) whose
 * classes are selected and re-routed to their queue. Every problem is reported at once.
 */
export function loadClassesFile(path: string): ClassesFile {
  const content = readStructuredFile(path, 'classes file');
  if (!Array.isArray(content)) {
    if (typeof content !== 'object' || content === null) throw new InputError(`${path}: a classes file is a list of worker class names, or a mapping "WorkerClass": "queue"`);
    const mapping = loadClassMapping(path);
    return { classes: [...mapping.keys()], mapping };
  }
  const problems: string[] = [];
  const classes = new Set<string>();
  content.forEach((entry, i) => {
    if (typeof entry !== 'string' || entry.trim() === '') problems.push(`entry ${i + 1}: a class name, got ${JSON.stringify(entry) ?? 'nothing'}`);
    else classes.add(entry.trim());
  });
  if (classes.size === 0 && problems.length === 0) problems.push('it names no class');
  if (problems.length > 0) throw new InputError(`${path}: invalid classes file:\n  - ${problems.join('\n  - ')}`);
  return { classes: [...classes] };
}
