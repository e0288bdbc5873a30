import { describePrefix, type OtherPrefix } from '../../core/redis/sidekiq-prefixes.js';

/**
 * That the source also holds jobs under other prefixes, which this run does not touch: GitLab's
 * namespace move leaves `resque:gitlab:` leftovers beside the unprefixed keys, and a run of one
 * layout must not read as the whole story.
 */
export function describeOtherPrefixes(others: readonly OtherPrefix[] | undefined): string {
  return (others ?? [])
    .map((p) => {
      // Keys the user's ACL hides: what they hold is not known, and not touched either.
      const hidden = p.unreadable ? `${p.jobs > 0 ? ', and' : ''} ${p.unreadable} Sidekiq key(s) this user may not read (its ACL hides them), whatever they hold,` : '';
      // Its look stopped at the plan's time: what it counted is a floor, never "none".
      const cut = p.lookCutShort;
      const held = p.jobs > 0 ? ` ${cut ? 'at least ' : ''}${p.jobs} job(s)` : cut && !p.unreadable ? ' Sidekiq keys' : '';
      const howFar = cut ? ` (the look for its jobs stopped after about ${cut.lookedAt.toLocaleString('en-US')} of ${cut.keys.toLocaleString('en-US')} keys, its time out: there may be more)` : '';
      return `Note: this Redis also holds${held}${hidden} under ${describePrefix(p.prefix)}${howFar}, which this run does not touch. To bring them onto this layout: sidekiq-migrate move --from URL --to URL --namespace '${p.prefix}' --to-namespace THIS_PREFIX (the same URL on both sides${p.unreadable ? ', as a user that may read them' : ''}).\n`;
    })
    .join('');
}
