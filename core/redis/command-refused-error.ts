import { FatalError } from '../errors/sidekiq-migrate-error.js';

/**
 * The run's user may no longer run a command a step needs (or not on one of its keys): its ACL
 * changed after the run's start-up check (command-permissions.ts), e.g. `ACL SETUSER app -lpush`
 * during the run. Found by the script's own look (redis.acl_check_cmd, core/redis/lua/lib/guards.lua)
 * before it wrote anything: the call changed nothing, every job of it is where it was. Fatal:
 * retrying meets the same ACL. Redis 7.0 and later; on 6.2 there is no such look.
 */
export class CommandRefusedError extends FatalError {
  constructor(
    readonly command: string,
    readonly key: string | undefined,
    /** Allowed as a command, refused on that key only (an ACL key pattern). */
    readonly keyOnly: boolean,
    doing: string,
    options?: { cause?: unknown },
  ) {
    const on = key === undefined ? '' : ` on ${key}`;
    const grant = keyOnly && key !== undefined ? `~${key}` : `+${command.toLowerCase()}`;
    super(
      `${doing}: the user may not run ${command}${on}, which this step needs (its ACL changed after the run's start-up check); this step was refused before it wrote anything. Grant it (ACL SETUSER … ${grant}) or use another user, then run the same command again.`,
      options,
    );
  }
}

const REFUSAL = /^NOPERM sidekiq-migrate: the user may not run (\S+)( on this key)?; this call was refused before it wrote anything(?: \(key ([\s\S]*)\))?$/;

/** The CommandRefusedError for a script's refusal reply (see guards.lua), or null for any other error. */
export function commandRefusal(message: string, doing: string, cause: unknown): CommandRefusedError | null {
  const match = REFUSAL.exec(message);
  return match ? new CommandRefusedError(match[1]!, match[3], match[2] !== undefined, doing, { cause }) : null;
}
