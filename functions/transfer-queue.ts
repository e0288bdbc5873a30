import { connections } from './support/container.js';
import { createPageHandler } from './support/page-handler.js';

/**
 * "Transfer a slice of the queue". Input: `{settings, item}` with settings.mode "transfer" and
 * an item of kind "queue", cursor `{limit, claimed}` or null. Output: the item with its next
 * cursor, `done`, and counters summed.
 */
export const handler = createPageHandler({ task: 'transfer-queue', mode: 'transfer', kind: 'queue' }, connections);
