import { FatalError } from '../errors/sidekiq-migrate-error.js';

/**
 * A key holds another type of value than the step needs (a string where a queue list belongs, a
 * list where the ledger set belongs…), found by the script's own TYPE checks before it wrote
 * anything (core/redis/lua/lib/guards.lua): the call changed nothing, every job is where it was.
 * Fatal: retrying meets the same key. Usually a wrong key prefix, or a key someone else owns.
 */
export class KeyTypeError extends FatalError {
  constructor(
    readonly key: string,
    readonly actual: string,
    readonly expected: string,
    doing: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${doing}: ${key} holds a ${actual}, not a ${expected}; this step was refused before it wrote anything. Check the key prefix (--namespace), or move that key out of the way, then run again.`,
      options,
    );
  }
}

const REFUSAL = /^WRONGTYPE sidekiq-migrate (\S+) (\S+) ([\s\S]*)$/;

/** The KeyTypeError for a script's refusal reply (see guards.lua), or null for any other error. */
export function keyTypeRefusal(message: string, doing: string, cause: unknown): KeyTypeError | null {
  const match = REFUSAL.exec(message);
  return match ? new KeyTypeError(match[3]!, match[1]!, match[2]!, doing, { cause }) : null;
}
