import { unencodableQueueName } from '../payload/encode-json-string.js';
import { longQueueNameProblem } from './queue-name-bytes.js';

/** What Sidekiq puts before a queue's name to make its list's key. */
const QUEUE_KEY_HEAD = 'queue:';

/**
 * What is wrong with a queue name given as a destination of `--mapping` or `--rename`: longer
 * than a run carries (queue-name-bytes.ts), a lone surrogate (no payload can name it: encode-json-string.ts), white space at either end, or a
 * control character, or a key name (`queue:new`, keyNameProblem). Redis and Sidekiq take such a
 * name, but it is never what was meant: the jobs would wait on a queue no Sidekiq process fetches,
 * shown in the summary as if it were the intended one. GitLab routing rules are checked for the
 * first and the last only (routing-rule.ts): GitLab uses a rule's queue verbatim, and so must a
 * re-route that follows it, but no GitLab process is started on a queue named like a key.
 */
export function destinationNameProblem(queue: string): string | undefined {
  const long = longQueueNameProblem(queue);
  if (long !== undefined) return `the queue ${long}`;
  const unencodable = unencodableQueueName(queue);
  if (unencodable !== null) return `the queue ${unencodable}`;
  const keyName = keyNameProblem(queue);
  if (keyName !== undefined) return `the queue ${keyName}`;
  if (/[\u0000-\u001f\u007f]/.test(queue)) return `the queue ${JSON.stringify(queue)} holds a control character`;
  if (queue.trim() !== queue) return `the queue ${JSON.stringify(queue)} begins or ends with white space`;
  return undefined;
}

/**
 * A destination written as the key of its queue: `queue:new` is the list `queue:queue:new`, and
 * with no Sidekiq process live (stopped for the migration) nothing else says so before a run ends
 * "Complete" over jobs no worker will fetch. drain-check refuses the same slip in
 * --retired-queues (core/drain/retired-key-names.ts). Said after "the queue " / "its queue ".
 */
export function keyNameProblem(queue: string): string | undefined {
  if (!queue.startsWith(QUEUE_KEY_HEAD)) return undefined;
  const name = queue.slice(QUEUE_KEY_HEAD.length);
  const give = name === '' ? 'give the queue\'s name' : `give ${name}`;
  return `${JSON.stringify(queue)} is a key name, not a queue name: its jobs would go to the list ${QUEUE_KEY_HEAD}${queue}, which no Sidekiq process fetches from; ${give}`;
}

/**
 * A destination written as its queue's key with the run's namespace (redis-namespace's prefix,
 * `resque:gitlab:`): `resque:gitlab:queue:new`. The prefix is put before every key name, so its
 * jobs would go to the list `resque:gitlab:queue:resque:gitlab:queue:new`, which no Sidekiq process
 * fetches from. Only the key's form: a queue named `resque:gitlab:new` is odd but may be meant
 * (a queue name may hold ':'). `prefix`: a normalized prefix (ends with ':'), '' for none
 * (nothing is refused then: keyNameProblem covers `queue:new`). Said after "the queue ".
 */
export function namespacedNameProblem(queue: string, prefix: string): string | undefined {
  if (prefix === '' || !queue.startsWith(`${prefix}${QUEUE_KEY_HEAD}`)) return undefined;
  const name = queue.slice(prefix.length + QUEUE_KEY_HEAD.length);
  const give = name === '' ? "give the queue's name" : `give ${name}`;
  return `${JSON.stringify(queue)} is a key name with the namespace ${prefix}, which is put before every key name: its jobs would go to the list ${prefix}${QUEUE_KEY_HEAD}${queue}, which no Sidekiq process fetches from; ${give}`;
}
