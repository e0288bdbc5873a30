import type { PlanOutput } from '../../core/workflow/steps/plan-step.js';
import { describePrefix } from '../../core/redis/sidekiq-prefixes.js';
import { StateNames } from '../../infra/constructs/state-names.js';
import type { LocalEvent } from '../../infra/local/run-workflow-locally.js';
import type { CliIo } from '../cli-io.js';

/**
 * Says, when the plan step ends, that the source also holds jobs under other prefixes, which this
 * run does not touch (on stderr, with --json too): GitLab's namespace move leaves `resque:gitlab:`
 * leftovers beside the unprefixed keys, and a run of one layout must not read as the whole story.
 */
export function prefixNotice(io: CliIo): (execution: string, event: LocalEvent) => void {
  return (_execution, event) => {
    if (event.type !== 'StateExited' || event.state?.name !== StateNames.plan) return;
    const others = ((event.state as { output?: unknown }).output as { plan?: PlanOutput } | undefined)?.plan?.otherPrefixes ?? [];
    for (const p of others) {
      io.err(
        `Note: this Redis also holds ${p.jobs} job(s) under ${describePrefix(p.prefix)}, which this run does not touch. To bring them onto this layout: sidekiq-migrate move --from URL --to URL --namespace '${p.prefix}' --to-namespace THIS_PREFIX (the same URL on both sides).\n`,
      );
    }
  };
}
