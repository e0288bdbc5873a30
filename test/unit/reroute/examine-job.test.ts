// What a re-route decides for one job from its bytes: the exact bytes it writes (only `queue`, and
// ActiveJob's `args[0].queue_name` unless told not to), and what it reports for the jobs it leaves.
import { describe, expect, it } from 'vitest';
import { examineQueuedJob, examineScheduledJob } from '../../../core/reroute/examine-job.js';
import { classRoutingPlan, renameRoutingPlan } from '../../../core/routing/routing-plan.js';

const plan = classRoutingPlan(
  new Map([
    ['PostReceive', 'git'],
    ['ActionMailer::MailDeliveryJob', 'mail'],
  ]),
);
const job = (queue: string, cls = 'PostReceive', extra = '') => Buffer.from(`{"retry":true,"queue":"${queue}","class":"${cls}","args":[1.0,-0.0],"jid":"abc"${extra}}`);
const activeJob = (queue: string, queueName: string) =>
  Buffer.from(
    `{"retry":true,"queue":"${queue}","class":"ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper","wrapped":"ActionMailer::MailDeliveryJob","args":[{"job_class":"ActionMailer::MailDeliveryJob","queue_name":"${queueName}","arguments":[]}],"jid":"aj1"}`,
  );

describe('examineQueuedJob', () => {
  it('moves a job of a drained list to its class destination, only its queue rewritten, every other byte kept', () => {
    expect(examineQueuedJob(job('old'), 'old', plan, true)).toEqual({
      kind: 'move',
      to: 'git',
      rewritten: job('git'),
      routedClass: 'PostReceive',
      queue: 'old',
      // The usual job: a rollback undoes its move by name (move-shape.ts).
      shape: {},
      uniqueLock: false,
    });
  });

  it("rewrites an ActiveJob's queue_name that agrees with the old queue, and only when asked to", () => {
    const rewritten = (examineQueuedJob(activeJob('old', 'old'), 'old', plan, true) as { rewritten: Buffer }).rewritten;
    expect(rewritten.toString()).toBe(activeJob('mail', 'mail').toString());
    const kept = examineQueuedJob(activeJob('old', 'old'), 'old', plan, false);
    expect(kept).toEqual({ kind: 'move', to: 'mail', rewritten: activeJob('mail', 'old'), routedClass: 'ActionMailer::MailDeliveryJob', queue: 'old', shape: {}, uniqueLock: false });
  });

  it('says a job with a sidekiq-unique-jobs digest carries a lock', () => {
    expect(examineQueuedJob(job('old', 'PostReceive', ',"lock_digest":"uniquejobs:1"'), 'old', plan, true)).toMatchObject({ kind: 'move', uniqueLock: true });
  });

  it('the list decides: a job already naming its destination still moves out of a drained list', () => {
    expect(examineQueuedJob(job('git'), 'old', plan, true)).toMatchObject({ kind: 'move', to: 'git', rewritten: job('git') });
    expect(examineQueuedJob(job('old'), 'git', plan, true)).toEqual({ kind: 'already-routed' });
  });

  it("reports an unmapped job with its class, jid and why; an unparsable one with the parser's reason", () => {
    expect(examineQueuedJob(job('old', 'Gone'), 'old', plan, true)).toEqual({
      kind: 'unmapped',
      routedClass: 'Gone',
      sample: { jid: 'abc', className: 'Gone', reason: 'no destination for its class' },
      queue: 'old',
    });
    expect(examineQueuedJob(Buffer.from('{"class":"PostReceive",'), 'old', plan, true)).toEqual({ kind: 'unparsable', sample: { jid: null, className: null, reason: 'invalid-json' } });
    expect(examineScheduledJob(Buffer.from('{"class":"PostReceive",'), plan, true)).toEqual({ kind: 'unparsable', sample: { jid: null, className: null, reason: 'invalid-json' } });
  });
});

describe('examineScheduledJob', () => {
  it('moves an entry whose queue field differs from its destination; one that names it is already routed', () => {
    expect(examineScheduledJob(job('old'), plan, true)).toEqual({ kind: 'move', to: 'git', rewritten: job('git'), routedClass: 'PostReceive', queue: 'old', shape: {}, uniqueLock: false });
    expect(examineScheduledJob(job('git'), plan, true)).toEqual({ kind: 'already-routed' });
  });

  it("keeps an ActiveJob's queue_name when asked to", () => {
    expect(examineScheduledJob(activeJob('old', 'old'), plan, false)).toMatchObject({ kind: 'move', rewritten: activeJob('mail', 'old') });
    expect(examineScheduledJob(activeJob('old', 'old'), plan, true)).toMatchObject({ kind: 'move', rewritten: activeJob('mail', 'mail') });
  });

  it('a rename moves the entries of the renamed queue; others stay; the unmapped are reported', () => {
    const renames = renameRoutingPlan(new Map([['old', 'new']]));
    expect(examineScheduledJob(job('old'), renames, true)).toMatchObject({ kind: 'move', to: 'new', rewritten: job('new') });
    expect(examineScheduledJob(job('other'), renames, true)).toEqual({ kind: 'already-routed' });
    expect(examineScheduledJob(job('old', 'Gone'), plan, true)).toEqual({
      kind: 'unmapped',
      routedClass: 'Gone',
      sample: { jid: 'abc', className: 'Gone', reason: 'no destination for its class' },
      queue: 'old',
    });
  });
});
