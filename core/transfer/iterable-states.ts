import type { PageLook } from '../redis/shared-walk.js';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';

/**
 * Sidekiq 7.3+ iterable jobs (Sidekiq::IterableJob, lib/sidekiq/job/iterable.rb) keep their
 * progress in a hash named after the jid, `it-<jid>` (fields `ex` executions, `c` the cursor as
 * JSON, `rt` runtime in seconds; `cancelled`, a Unix time, from 7.3.3: Sidekiq::Client#cancel!),
 * on the Redis the job runs against (`Sidekiq.redis`), with a TTL of 30 days (refreshed at each
 * write before 8.0, set once from 8.0: EXPIRE NX). It is written every 5 s while the job iterates,
 * when it is interrupted (a shutdown: the job is pushed again, same jid) and, from 8.0.4, when an
 * iteration raises (the job goes to `retry`); it is deleted when the iteration completes or is
 * cancelled. A transfer does not carry it: a moved job whose state stays on the source restarts its
 * iteration from the beginning on the target (a cancelled one runs). The plan names them.
 */
export interface IterableStates {
  /** How many `it-*` keys the plan's walk saw under the prefix (at most ITERABLE_STATES_COUNTED). */
  readonly count: number;
  /** The first jids, sorted (ITERABLE_JIDS_NAMED at most). */
  readonly jids: readonly string[];
  /** The walk stopped counting at ITERABLE_STATES_COUNTED: there may be more. */
  readonly atLeast?: true;
}

export const ITERABLE_STATES_COUNTED = 100_000;
export const ITERABLE_JIDS_NAMED = 10;

/** A look for the plan's one walk (shared-walk.ts): the `<prefix>it-*` keys. */
export function iterableStatesLook(keys: SidekiqKeys): PageLook & { found(): IterableStates | undefined } {
  const head = `${keys.prefix}it-`;
  const headBytes = Buffer.from(head);
  // Binary-safe (latin1: one character a byte), shown as UTF-8.
  const seen = new Set<string>();
  return {
    heads: [head],
    onPage: (page) => {
      for (const key of page) {
        if (key.length > headBytes.length && key.subarray(0, headBytes.length).equals(headBytes)) seen.add(key.subarray(headBytes.length).toString('latin1'));
      }
      return seen.size >= ITERABLE_STATES_COUNTED;
    },
    found: () => {
      if (seen.size === 0) return undefined;
      const jids = [...seen].sort().slice(0, ITERABLE_JIDS_NAMED).map((jid) => Buffer.from(jid, 'latin1').toString('utf8'));
      return { count: seen.size, jids, ...(seen.size >= ITERABLE_STATES_COUNTED ? { atLeast: true as const } : {}) };
    },
  };
}
