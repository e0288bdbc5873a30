import { readStructuredFile } from '../config/read-structured-file.js';
import { InputError } from '../errors/input-error.js';
import { destinationNameProblem } from './destination-name.js';

/**
 * Reads an explicit `{ "WorkerClass": "queue" }` mapping (JSON or YAML), for applications that
 * have no GitLab catalog. Every problem in the file is reported at once.
 */
export function loadClassMapping(path: string): Map<string, string> {
  const content = readStructuredFile(path, 'class mapping file');
  if (typeof content !== 'object' || content === null || Array.isArray(content)) {
    throw new InputError(`${path}: a class mapping is an object of "WorkerClass": "queue" pairs`);
  }
  const problems: string[] = [];
  const mapping = new Map<string, string>();
  for (const [className, queue] of Object.entries(content)) {
    if (className.trim() === '') problems.push('an empty class name');
    else if (typeof queue !== 'string' || queue.trim() === '') {
      problems.push(`${className}: the queue must be a non-empty string, got ${JSON.stringify(queue) ?? 'nothing'}`);
    } else if (destinationNameProblem(queue)) problems.push(`${className}: ${destinationNameProblem(queue)}`);
    else mapping.set(className, queue);
  }
  if (mapping.size === 0 && problems.length === 0) problems.push('it maps no class');
  if (problems.length > 0) throw new InputError(`${path}: invalid class mapping:\n  - ${problems.join('\n  - ')}`);
  return mapping;
}
