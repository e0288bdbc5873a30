import { displayName } from '../../core/redis/key-name.js';
import { describePrefix } from '../../core/redis/sidekiq-prefixes.js';
import type { JobsUnderOtherPrefixes } from '../../core/workflow/other-prefixes-left.js';
import { count as n } from './fit.js';

/** A prefix as the summary's words name it among others. */
const named = (prefix: string) => (prefix === '' ? 'no prefix' : `"${displayName(prefix)}"`);

/**
 * "Needs a look" lines for jobs under other prefixes of the source (summarize-step.ts): their
 * keys and counts under the words every scope a run left out uses, what could not be read, and a
 * look cut short (never said as none). `rollback`: a rollback's (the run it puts back, when
 * known): none of those jobs are that run's, which moved jobs under this prefix only, and a
 * rollback run again with another --namespace finds no record of it there (audit-truth2: it said
 * "this run … run again with --namespace and their prefix to move them").
 */
export function otherPrefixLines(found: JobsUnderOtherPrefixes | undefined, where: string, rollback?: { readonly of: string | undefined }): string[] {
  if (!found) return [];
  const lines: string[] = [];
  const who = rollback ? 'this rollback' : 'this run';
  const prefixes = `${found.prefixes.map(named).join(', ')}${found.morePrefixes > 0 ? ` and ${n(found.morePrefixes)} more` : ''}`;
  if (found.places.length > 0) {
    const keys = `${found.places.map((p) => `${displayName(p.name)} ${n(p.jobs)}`).join(' · ')}${found.more > 0 ? ` · … and ${n(found.more)} more` : ''}`;
    const none = found.prefixes.includes('') ? ' (none: without --namespace)' : '';
    const todo = rollback
      ? `This rollback works under ${describePrefix(found.own)} only, where ${rollback.of !== undefined ? `run ${rollback.of}` : 'the rolled-back run'} moved jobs: none of those are its to put back.`
      : `This run works under ${describePrefix(found.own)} only: run again with --namespace and their prefix${none} to move them.`;
    lines.push(`Not looked at by ${who} (other prefixes of this Redis: ${prefixes}), ${n(found.jobs)} job(s): ${keys}. ${todo}`);
  }
  if (found.unreadable) {
    lines.push(`Not looked at by ${who} (other prefixes of this Redis), and could not be read: ${n(found.unreadable)} Sidekiq key(s) this user may not read (its ACL hides them). What they hold was not moved; look at them as a user that may read them.`);
  }
  if (found.cutShort) {
    const why =
      found.cutShort === 'time'
        ? `the summary's time for it ran out before it reached the end of the keys of ${where}`
        : 'it stopped at the most keys a summary reads';
    lines.push(`The look for jobs under other prefixes of this Redis was cut short: ${why}. There may be jobs there it did not count; drain-check names them.`);
  }
  return lines;
}
