import { unencodableQueueName } from '../payload/encode-json-string.js';

/**
 * What is wrong with a queue name given as a destination of `--mapping` or `--rename`: a lone
 * surrogate (no payload can name it: encode-json-string.ts), white space at either end, or a
 * control character. Redis and Sidekiq take such a name, but it is never what
 * was meant: the jobs would wait on a queue no Sidekiq process fetches, shown in the summary as if
 * it were the intended one. GitLab routing rules are checked for the first only (routing-rule.ts):
 * GitLab uses a rule's queue verbatim, and so must a re-route that follows it.
 */
export function destinationNameProblem(queue: string): string | undefined {
  const unencodable = unencodableQueueName(queue);
  if (unencodable !== null) return `the queue ${unencodable}`;
  if (/[\u0000-\u001f\u007f]/.test(queue)) return `the queue ${JSON.stringify(queue)} holds a control character`;
  if (queue.trim() !== queue) return `the queue ${JSON.stringify(queue)} begins or ends with white space`;
  return undefined;
}
