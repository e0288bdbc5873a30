/**
 * The longest queue name (UTF-8 bytes, as a state holds it) a run takes, as the queue it drains
 * or as a destination. Every state of the state machine carries names — a batch's ten items, each
 * item's moves per destination, the tally's first fifty, failures, continuations — in at most
 * 256 KiB: one queue named with 300 KB failed every run at its plan (States.DataLimitExceeded, the
 * lock left behind), fifty of 6 KB each failed it half-way, and a mapping to one destination of
 * 40,000 bytes failed at the Map once a batch had moved jobs there. Sidekiq's queue names are short.
 */
export const MAX_QUEUE_NAME_BYTES = 512;

/** Characters of a long name shown in a message (the rest would drown it). */
const SHOWN_CHARS = 40;

/** What is wrong with a destination too long for a run, said after "the queue "; undefined when it fits. */
export function longQueueNameProblem(queue: string): string | undefined {
  const bytes = Buffer.byteLength(queue, 'utf8');
  if (bytes <= MAX_QUEUE_NAME_BYTES) return undefined;
  return `"${shortened(queue, SHOWN_CHARS)}" is ${bytes.toLocaleString('en-US')} bytes long: a run carries queue names through the state machine's states (256 KiB each), so it takes names of at most ${MAX_QUEUE_NAME_BYTES} bytes`;
}

/** `text` cut to `chars` characters with an ellipsis (never half a surrogate pair); as it is when shorter. */
export function shortened(text: string, chars: number): string {
  if (text.length <= chars) return text;
  const end = /[\uD800-\uDBFF]/.test(text[chars - 1] ?? '') ? chars - 1 : chars;
  return `${text.slice(0, end)}…`;
}
