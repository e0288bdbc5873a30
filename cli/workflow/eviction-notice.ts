import { evictionWarning } from '../../core/redis/eviction-policy.js';
import type { PlanOutput } from '../../core/workflow/steps/plan-step.js';

/**
 * Each Redis's `maxmemory-policy` as the plan read it (with --json only the warnings), and a loud
 * warning when it is not `noeviction`.
 */
export function describeEviction(policies: PlanOutput['memoryPolicies'], json: boolean): string {
  if (!policies) return '';
  const entries = Object.entries(policies).filter((e): e is [string, string | null] => e[1] !== undefined);
  const lines = json ? [] : [`maxmemory-policy: ${entries.map(([name, policy]) => `${name} ${policy ?? 'not reported'}`).join(' · ')}`];
  for (const [name, policy] of entries) {
    const warning = evictionWarning(name, policy);
    if (warning) lines.push(warning);
  }
  return lines.map((l) => `${l}\n`).join('');
}
