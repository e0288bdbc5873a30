import type { ConnectionProvider } from '../../core/workflow/connections.js';
import { faultAt as faultAtScript, type Fault } from './fault-at-script.js';

export type { Fault };

/** `provider` whose source client runs `fault` around the `nth` pipeline that runs `script` (fault-at-script.ts). */
export function faultAt(provider: ConnectionProvider, script: string, nth: number, fault: Fault): ConnectionProvider & { faults: () => number } {
  return faultAtScript(provider, 'source', script, nth, fault);
}

export const lost = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });

/** Redis refusing a script for memory: a ReplyError, before the script wrote anything. */
export const refused = () => Object.assign(new Error("OOM command not allowed when used memory > 'maxmemory'."), { name: 'ReplyError' });

/** The faults: [what, nth call, whether the call ran (null: no fault; 'refused': Redis refused it, out of memory)]. */
export const FAULTS = [
  ['no fault: the call runs and answers', 1, null],
  ["the pass's first call fails before it is sent", 1, false],
  ["the pass's first call runs and its reply is lost", 1, true],
  ['a later call runs and its reply is lost', 3, true],
  ['a later call fails before it is sent', 3, false],
  ["a later call of the task's pages is refused (out of memory)", 2, 'refused'],
] as const;

/** Runs `meanwhile` around the call as `ran` says, then answers or fails as it says. */
export async function faultWith(ran: (typeof FAULTS)[number][2], exec: () => Promise<[Error | null, unknown][]>, meanwhile: () => Promise<void>): Promise<unknown> {
  const replies = ran === true || ran === null ? await exec() : undefined;
  await meanwhile();
  if (ran === null) return replies;
  throw ran === 'refused' ? refused() : lost();
}

