import { describe, expect, it } from 'vitest';
import { decodeMove, encodeMove, PageMoves, recordArgs } from '../../../core/reroute/move-record.js';
import { reverseRoutingPlan, type RecordedMove } from '../../../core/routing/reverse-plan.js';
import { decideRoute, isDrainedQueue, queuedJobDestination, unmappedReason, type JobRoutingFields } from '../../../core/routing/routing-plan.js';
import { deserializeRouting, serializeRouting } from '../../../core/workflow/stored-routing.js';

const job = (className: string, queue: string | null, wrapped: string | null = null): JobRoutingFields => ({ className, queue, wrapped });
const move = (routedClass: string, from: string | null, to: string): RecordedMove => ({ routedClass, from, to });
const RAILS_WRAPPER = 'ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper';

describe('the reverse plan of a class-mapping run', () => {
  // Run r1 moved PostReceive from post_receive and MergeWorker from merge to default, Notify (an
  // ActiveJob mail) from mailers to default, and Flaky's retry entries from two different queues.
  const plan = reverseRoutingPlan('r1', [
    move('PostReceive', 'post_receive', 'default'),
    move('MergeWorker', 'merge', 'default'),
    move('Notify', 'mailers', 'default'),
    move('Flaky', 'flaky_a', 'urgent'),
    move('Flaky', 'flaky_b', 'urgent'),
    move('Flaky', 'flaky_a', 'default'),
  ]);

  it('sends each class back to the queue it came from', () => {
    expect(decideRoute(plan, job('PostReceive', 'default'))).toEqual({ action: 'move', to: 'post_receive' });
    expect(decideRoute(plan, job('MergeWorker', 'default'))).toEqual({ action: 'move', to: 'merge' });
    expect(decideRoute(plan, job('Flaky', 'default'))).toEqual({ action: 'move', to: 'flaky_a' });
  });

  it('routes ActiveJob wrappers by their wrapped class, as the run recorded them', () => {
    expect(decideRoute(plan, job(RAILS_WRAPPER, 'default', 'Notify'))).toEqual({ action: 'move', to: 'mailers' });
    expect(queuedJobDestination(plan, 'default', job(RAILS_WRAPPER, 'default', 'Notify'))).toBe('mailers');
  });

  it('leaves alone, uncounted, what the run never moved: another class, or the class on another queue', () => {
    expect(decideRoute(plan, job('Other', 'default'))).toEqual({ action: 'already-routed' });
    expect(decideRoute(plan, job('PostReceive', 'post_receive'))).toEqual({ action: 'already-routed' });
    expect(decideRoute(plan, job('PostReceive', null))).toEqual({ action: 'already-routed' });
    expect(queuedJobDestination(plan, 'default', job('Other', 'default'))).toBe('default');
  });

  it('calls a class filled from several queues unmapped, and says why', () => {
    expect(decideRoute(plan, job('Flaky', 'urgent'))).toEqual({ action: 'unmapped' });
    expect(queuedJobDestination(plan, 'urgent', job('Flaky', 'urgent'))).toBeNull();
    expect(unmappedReason(plan, 'urgent', job('Flaky', 'urgent'))).toBe('run r1 moved such jobs here from several queues (flaky_a, flaky_b): cannot tell which one each came from');
  });

  it('drains exactly the queues the run moved jobs to', () => {
    expect(isDrainedQueue(plan, 'default')).toBe(true);
    expect(isDrainedQueue(plan, 'urgent')).toBe(true);
    expect(isDrainedQueue(plan, 'post_receive')).toBe(false);
    expect(isDrainedQueue(plan, 'elsewhere')).toBe(false);
  });

  it('cannot put back an entry that had no queue field', () => {
    const noQueue = reverseRoutingPlan('r2', [move('A', null, 'new')]);
    expect(decideRoute(noQueue, job('A', 'new'))).toEqual({ action: 'unmapped' });
    expect(unmappedReason(noQueue, 'new', job('A', 'new'))).toMatch(/without a queue field/);
  });

  it('says why when one class came both from a named queue and from entries without a queue field (not "not UTF-8")', () => {
    const mixed = reverseRoutingPlan('r3', [move('A', 'x', 'new'), move('A', null, 'new')]);
    expect(decideRoute(mixed, job('A', 'new'))).toEqual({ action: 'unmapped' });
    expect(unmappedReason(mixed, 'new', job('A', 'new'))).toBe('run r3 moved such jobs here both from queue x and from entries without a queue field: cannot tell which each came from');
  });

  it('survives being stored and read back', () => {
    const again = deserializeRouting(JSON.parse(JSON.stringify(serializeRouting(plan))));
    expect(again).toEqual(plan);
  });
});

describe('move records', () => {
  it('keep one member per distinct move, by class for renames too, and a TTL', () => {
    const moves = new PageMoves();
    moves.add('A', 'old', 'new');
    moves.add('A', 'old', 'new');
    moves.add('A', null, 'new');
    expect(recordArgs(moves, 'p:', 'r1')).toEqual({ keys: ['p:sidekiq-migrate:r1:moves'], args: ['2', String(30 * 24 * 3600), '["A","old","new"]', '["A",null,"new"]'] });
    expect(recordArgs(moves, 'p:', undefined)).toEqual({ keys: [], args: ['0', ''] });
    expect(recordArgs(new PageMoves(), 'p:', 'r1')).toEqual({ keys: [], args: ['0', ''] });
  });

  it('decode what they encode, and nothing else', () => {
    const m = move('Ünïcode::Worker', 'a:b', 'c"d');
    expect(decodeMove(encodeMove(m))).toEqual(m);
    for (const bad of ['', 'x', '[]', '["A","b"]', '["A",1,"c"]', '{"a":1}', '["A","b",null]']) expect(decodeMove(bad)).toBeNull();
  });
});
