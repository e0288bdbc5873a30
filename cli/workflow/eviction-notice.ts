import { evictionWarning } from '../../core/redis/eviction-policy.js';
import type { PlanOutput } from '../../core/workflow/steps/plan-step.js';
import { StateNames } from '../../infra/constructs/state-names.js';
import type { LocalEvent } from '../../infra/local/run-workflow-locally.js';
import type { CliIo } from '../cli-io.js';

/**
 * Shows, when the plan step ends, each Redis's `maxmemory-policy` (on stderr; with --json only the
 * warnings), and warns loudly when it is not `noeviction`.
 */
export function evictionNotice(io: CliIo, json: boolean): (execution: string, event: LocalEvent) => void {
  return (_execution, event) => {
    if (event.type !== 'StateExited' || event.state?.name !== StateNames.plan) return;
    const policies = ((event.state as { output?: unknown }).output as { plan?: PlanOutput } | undefined)?.plan?.memoryPolicies;
    if (!policies) return;
    const entries = Object.entries(policies).filter((e): e is [string, string | null] => e[1] !== undefined);
    if (!json) io.err(`maxmemory-policy: ${entries.map(([name, policy]) => `${name} ${policy ?? 'not reported'}`).join(' · ')}\n`);
    for (const [name, policy] of entries) {
      const warning = evictionWarning(name, policy);
      if (warning) io.err(`${warning}\n`);
    }
  };
}
