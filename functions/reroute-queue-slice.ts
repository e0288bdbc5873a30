import { connections } from './support/container.js';
import { createPageHandler } from './support/page-handler.js';

/**
 * "Re-route a slice of the queue". Input: `{settings, item}` with settings.mode "reroute" and an
 * item of kind "queue", cursor `{limit, examined, kept, bytesPerJob}` or null. Output: the item with its next
 * cursor, `done`, and counters summed.
 */
export const handler = createPageHandler({ task: 'reroute-queue-slice', mode: 'reroute', kind: 'queue' }, connections);
