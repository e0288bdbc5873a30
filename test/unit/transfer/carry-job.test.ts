import { describe, expect, it } from 'vitest';
import { classRoutingPlan, renameRoutingPlan } from '../../../core/routing/routing-plan.js';
import { carryQueuedJob, carryScheduledJob } from '../../../core/transfer/carry-job.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const JID = '0123456789abcdef01234567';
const payload = (queue: string, extra?: string) => Buffer.from(sidekiqPayload({ className: 'W', queue, args: '[1]', jid: JID, extra }));
const WRAPPER = 'ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper';
const activeJob = (queue: string) =>
  Buffer.from(sidekiqPayload({ className: WRAPPER, wrapped: 'W', queue, args: `[{"job_class":"W","queue_name":"${queue}","arguments":[]}]`, jid: JID }));
const toC = classRoutingPlan(new Map([['W', 'c']]));

describe('carrying a queued job', () => {
  it('without routing: the same bytes to the same queue, an unparsable one too', () => {
    const job = payload('a');
    expect(carryQueuedJob(job, 'a', undefined, true)).toEqual({ payload: job, queue: 'a', kind: 'as-is' });
    // Even when its queue field names another queue: the list it sat in decides.
    expect(carryQueuedJob(payload('b'), 'a', undefined, true)).toEqual({ payload: payload('b'), queue: 'a', kind: 'as-is' });
    const broken = Buffer.from('{"class":');
    expect(carryQueuedJob(broken, 'a', toC, true)).toEqual({ payload: broken, queue: 'a', kind: 'unparsable' });
  });

  it('with routing: to its destination with the queue value spliced, noting a unique-jobs digest', () => {
    expect(carryQueuedJob(payload('a'), 'a', toC, true)).toEqual({ payload: payload('c'), queue: 'c', kind: 'rerouted', uniqueLock: false });
    const unique = payload('a', '"lock_digest":"uniquejobs:1"');
    expect(carryQueuedJob(unique, 'a', toC, true)).toEqual({ payload: payload('c', '"lock_digest":"uniquejobs:1"'), queue: 'c', kind: 'rerouted', uniqueLock: true });
  });

  it('already where the plan sends it, in its list and its queue field: as it is', () => {
    expect(carryQueuedJob(payload('c'), 'c', toC, true)).toEqual({ payload: payload('c'), queue: 'c', kind: 'as-is' });
  });

  it('in the right list with another queue field, or the right field in another list: rerouted', () => {
    // The field is spliced even though the list stays.
    expect(carryQueuedJob(payload('a'), 'c', toC, true)).toEqual({ payload: payload('c'), queue: 'c', kind: 'rerouted', uniqueLock: false });
    // The job moves to its list although its field already names it.
    expect(carryQueuedJob(payload('c'), 'a', toC, true)).toEqual({ payload: payload('c'), queue: 'c', kind: 'rerouted', uniqueLock: false });
  });

  it('a class the plan does not map stays in its list, unchanged', () => {
    const other = Buffer.from(sidekiqPayload({ className: 'Other', queue: 'a', args: '[1]', jid: JID }));
    expect(carryQueuedJob(other, 'a', toC, true)).toEqual({ payload: other, queue: 'a', kind: 'unmapped' });
  });

  it('a queue renames do not name keeps its jobs as they are: not unmapped, no class is without a destination', () => {
    expect(carryQueuedJob(payload('x'), 'x', renameRoutingPlan(new Map([['a', 'b']])), true)).toEqual({ payload: payload('x'), queue: 'x', kind: 'as-is' });
  });

  it('rewrites ActiveJob\'s queue_name only when asked', () => {
    expect(carryQueuedJob(activeJob('a'), 'a', toC, true).payload.toString()).toBe(activeJob('c').toString());
    expect(carryQueuedJob(activeJob('a'), 'a', toC, false).payload.toString()).toBe(activeJob('c').toString().replace('"queue_name":"c"', '"queue_name":"a"'));
  });
});

describe('carrying a set entry', () => {
  it('without routing, unparsable, unmapped or already routed: the same bytes', () => {
    const entry = payload('a');
    expect(carryScheduledJob(entry, undefined, true)).toEqual({ payload: entry, kind: 'as-is' });
    const broken = Buffer.from('not json');
    expect(carryScheduledJob(broken, toC, true)).toEqual({ payload: broken, kind: 'unparsable' });
    const other = Buffer.from(sidekiqPayload({ className: 'Other', queue: 'a', args: '[1]', jid: JID }));
    expect(carryScheduledJob(other, toC, true)).toEqual({ payload: other, kind: 'unmapped' });
    expect(carryScheduledJob(payload('c'), toC, true)).toEqual({ payload: payload('c'), kind: 'as-is' });
  });

  it('routed: its queue field spliced, a unique-jobs digest noted, ActiveJob\'s queue_name only when asked', () => {
    expect(carryScheduledJob(payload('a'), toC, true)).toEqual({ payload: payload('c'), kind: 'rerouted', uniqueLock: false });
    expect(carryScheduledJob(payload('a', '"unique_digest":"u:1"'), toC, true)).toEqual({ payload: payload('c', '"unique_digest":"u:1"'), kind: 'rerouted', uniqueLock: true });
    expect(carryScheduledJob(activeJob('a'), toC, true).payload.toString()).toBe(activeJob('c').toString());
    expect(carryScheduledJob(activeJob('a'), toC, false).payload.toString()).toBe(activeJob('c').toString().replace('"queue_name":"c"', '"queue_name":"a"'));
  });
});
