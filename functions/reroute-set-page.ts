import { connections } from './support/container.js';
import { createPageHandler } from './support/page-handler.js';

/**
 * "Re-route a page of the set". Input: `{settings, item}` with settings.mode "reroute" and an
 * item of kind "set" (schedule, retry, dead), cursor `{scan, bytesPerJob}` (a bare ZSCAN cursor
 * from a run planned before) or null. Output: the item with its next cursor, `done`, and counters
 * summed.
 */
export const handler = createPageHandler({ task: 'reroute-set-page', mode: 'reroute', kind: 'set' }, connections);
