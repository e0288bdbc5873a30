import { describe, expect, it } from 'vitest';
import { buildGitLabRouting } from '../../../core/routing/gitlab-routing.js';
import { reverseRoutingPlan } from '../../../core/routing/reverse-plan.js';
import { classRoutingPlan, isLiveQueue, isDrainedQueue, renameRoutingPlan } from '../../../core/routing/routing-plan.js';
import { deserializeRouting, serializeRouting } from '../../../core/workflow/stored-routing.js';
import { CE_CATALOG } from '../../support/paths.js';

// Live queues are never emptied by --unmapped quarantine (issue 11, items 4 and 11).
describe('live queues', () => {
  it("GitLab: mailers, default, every queue a rule names and every routing destination, even one no worker reaches", () => {
    const routing = buildGitLabRouting({ catalogPaths: [CE_CATALOG], rules: { value: [['urgency=high', 'urgent'], ['name=no_such_queue', 'nobody'], ['*', 'default']], origin: 'test' } });
    const plan = classRoutingPlan(routing.mapping, routing.liveQueues);

    for (const queue of ['mailers', 'default', 'urgent', 'nobody']) expect(isLiveQueue(plan, queue), queue).toBe(true);
    // mailers is drained (its routed jobs move) but live (its mail stays); a retired queue is neither live nor kept.
    expect(isDrainedQueue(plan, 'mailers')).toBe(true);
    expect(isLiveQueue(plan, 'email_receiver')).toBe(false);
  });

  it('survive being stored and read back by the page steps', () => {
    const plan = classRoutingPlan(new Map([['A', 'new']]), ['mailers']);
    const back = deserializeRouting(JSON.parse(JSON.stringify(serializeRouting(plan))));

    expect(isLiveQueue(back, 'mailers')).toBe(true);
    expect(isLiveQueue(back, 'new')).toBe(true);
    expect(isLiveQueue(back, 'old')).toBe(false);
  });

  it('a rollback treats every queue it takes jobs from as live; renamed queues are not', () => {
    expect(isLiveQueue(reverseRoutingPlan('r', [{ routedClass: 'W', from: 'a', to: 'c' }]), 'c')).toBe(true);
    expect(isLiveQueue(renameRoutingPlan(new Map([['old', 'new']])), 'old')).toBe(false);
  });
});
