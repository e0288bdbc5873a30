import { censusProcesses } from '../drain/live-processes.js';
import { InputError } from '../errors/input-error.js';
import { describePrefix, isNoPermission } from '../redis/sidekiq-prefixes.js';
import { SidekiqKeys } from '../redis/sidekiq-keys.js';
import type { Connection } from './connections.js';

/** The prefixes a GitLab (or plain Sidekiq) target's processes may run under: none, and redis-namespace's. */
const USUAL_PREFIXES = ['', 'resque:gitlab:'];

/**
 * Refuses a transfer to another Redis whose live Sidekiq processes all run under another prefix
 * than the one the move writes to (a forgotten `--to-namespace`, or one given that the target's
 * Sidekiq does not use): every job would land where no process fetches it, and the summary's
 * check of unheard queues, which looks at the processes under the prefix written to, finds none
 * there and says nothing. Only where the processes say it: a target with no live process (Sidekiq
 * not started there yet), or one with a live process under the prefix written to, goes on. A
 * namespace move on one Redis (`sameKeyspace`) is left alone: GitLab 16.4–16.6 processes beat
 * under one prefix and fetch from both. The prefixes looked at are none, `resque:gitlab:` and the
 * source's; one this user may not read is not looked at.
 */
export async function refuseTargetPrefixMismatch(source: Connection, target: Connection, sameKeyspace: boolean, option = '--to-namespace'): Promise<void> {
  if (sameKeyspace) return;
  const now = Date.now() / 1000;
  const liveUnder = async (prefix: string, quietToo: boolean): Promise<number> => {
    try {
      const census = await censusProcesses(target.redis, new SidekiqKeys(prefix), now);
      return census.processes.filter((p) => p.live && (quietToo || !p.quiet)).length;
    } catch (error) {
      // Not readable (an ACL scoped to the move's prefix): no evidence either way. Anything else
      // (the target gone) fails the plan as it is.
      if (isNoPermission(error)) return 0;
      throw error;
    }
  };
  const written = target.keys.prefix;
  if ((await liveUnder(written, true)) > 0) return;
  const others = [...new Set([...USUAL_PREFIXES, source.keys.prefix])].filter((p) => p !== written);
  const found: { prefix: string; live: number }[] = [];
  for (const prefix of others) {
    const live = await liveUnder(prefix, false);
    if (live > 0) found.push({ prefix, live });
  }
  if (found.length === 0) return;
  const where = found.map((f) => `${describePrefix(f.prefix)} (${f.live})`).join(' and ');
  const give = `${found.length === 1 ? `${option} '${found[0]!.prefix}'` : `${option} with one of them`}; deployed: the target connection's prefix`;
  throw new InputError(
    `Target ${target.name}: its live Sidekiq processes run under ${where}, none under ${describePrefix(written)}, where this move would write: ` +
      `the jobs moved would wait where no process fetches them. Give the target's prefix (${give}), or start the target's Sidekiq under ${describePrefix(written)} first. Nothing was touched.`,
  );
}
