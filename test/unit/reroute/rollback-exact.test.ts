// Property tests: a re-route followed by the rollback of its record gives back every job's exact
// bytes (or, when the record allows several originals, leaves the job where it is, unmapped),
// whatever the payload's shape: plain or ActiveJob, `queue_name` equal to the old queue, to the
// destination or to neither, queue names spelled with escapes, a missing `queue`, any Unicode.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inspectJob } from '../../../core/payload/inspect-job.js';
import { examineQueuedJob, examineScheduledJob, type Examined } from '../../../core/reroute/examine-job.js';
import { decodeMove, encodeMove, PageMoves } from '../../../core/reroute/move-record.js';
import { reverseRoutingPlan, type RecordedMove } from '../../../core/routing/reverse-plan.js';
import { classRoutingPlan } from '../../../core/routing/routing-plan.js';
import { routedClass } from '../../../core/routing/routed-class.js';
import { activeJobArgs, activeJobClass, payloadText, queueName } from '../payload/json-text-arbitraries.js';

const RUNS = { numRuns: 400 };

/**
 * A payload of any shape, with the destination its class is routed to (never its own queue): plain
 * or ActiveJob (whose `queue_name` names the old queue, the destination or neither), with or
 * without `queue`, names spelled with escapes.
 */
const routedPayloadTo = (destinations: fc.Arbitrary<string>, plainClass?: fc.Arbitrary<string>) =>
  fc
    .tuple(destinations, fc.boolean(), fc.constantFrom('plain', 'activeJob'), fc.constantFrom('old', 'destination', 'other'))
    .chain(([destination, withQueue, kind, queueNameIs]) =>
      payloadText({
        withQueue,
        ...(kind === 'activeJob'
          ? { className: activeJobClass, args: (q: string) => activeJobArgs(queueNameIs === 'old' ? q : queueNameIs === 'destination' ? destination : `${q}-x`) }
          : plainClass === undefined
            ? {}
            : { className: plainClass }),
      }).map(({ text, queue }) => ({ payload: Buffer.from(text, 'utf8'), queue: withQueue ? queue : null, destination })),
    )
    // A NUL marks a name that is not UTF-8 (key-name.ts): a rollback refuses to name such a queue.
    .filter(({ queue, destination }) => queue !== destination && !(queue ?? '').includes('\u0000'));

const routedPayload = routedPayloadTo(queueName);

/** The members a run's pages would record, read back as a rollback reads them (through the record's text). */
function recorded(moves: PageMoves): RecordedMove[] {
  return moves.members().map((m) => decodeMove(m)!);
}

function expectMove(examined: Examined): Examined & { kind: 'move' } {
  expect(examined.kind).toBe('move');
  return examined as Examined & { kind: 'move' };
}

describe('forward re-route, then rollback', () => {
  it('gives back the exact bytes of a queued job, whatever its shape and whichever list it waited in', () => {
    fc.assert(
      fc.property(routedPayload, fc.oneof(fc.constant<string | null>(null), queueName), ({ payload, queue, destination }, list) => {
        // Prepare: the job waits in its own queue's list, or in another (its `queue` disagrees).
        const listQueue = list ?? queue ?? 'default';
        fc.pre(listQueue !== destination && !listQueue.includes('\u0000'));
        const job = inspectJob(payload);
        if (job.kind !== 'job') throw new Error('the generator writes jobs');
        const cls = routedClass(job.className, job.wrapped);
        const moves = new PageMoves();

        // Act: the run moves it, recording the move; the rollback reads the record.
        const forward = expectMove(examineQueuedJob(payload, listQueue, classRoutingPlan(new Map([[cls, destination]])), true));
        moves.add(forward.routedClass, listQueue, forward.to, forward.shape);
        const back = examineQueuedJob(forward.rewritten, destination, reverseRoutingPlan('run', recorded(moves)), true);

        // Assess
        const undone = expectMove(back);
        expect(undone.to).toBe(listQueue);
        expect(undone.rewritten.toString('hex')).toBe(payload.toString('hex'));
      }),
      RUNS,
    );
  });

  it('gives back the exact bytes of a set entry that named its queue', () => {
    fc.assert(
      fc.property(routedPayload, ({ payload, queue, destination }) => {
        fc.pre(queue !== null);
        const job = inspectJob(payload);
        if (job.kind !== 'job') throw new Error('the generator writes jobs');
        const moves = new PageMoves();

        const forward = expectMove(examineScheduledJob(payload, classRoutingPlan(new Map([[routedClass(job.className, job.wrapped), destination]])), true));
        moves.add(forward.routedClass, forward.queue, forward.to, forward.shape);
        const undone = expectMove(examineScheduledJob(forward.rewritten, reverseRoutingPlan('run', recorded(moves)), true));

        expect(undone.to).toBe(queue);
        expect(undone.rewritten.toString('hex')).toBe(payload.toString('hex'));
      }),
      RUNS,
    );
  });

  it('of several jobs of one class and route, gives back each one exactly or leaves it in place as unmapped, never other bytes', () => {
    fc.assert(
      fc.property(fc.array(routedPayloadTo(fc.constant('new'), fc.constant('"K"')), { minLength: 2, maxLength: 6 }), (items) => {
        // Prepare: one list, one destination, two classes at most (K, or the ActiveJob wrapper); payloads of any shapes.
        const [listQueue, destination] = ['old', 'new'];
        const payloads = items.map((i) => i.payload);
        const plan = classRoutingPlan(new Map(payloads.map((p) => [classOf(p), destination])));
        const moves = new PageMoves();
        const rewritten: Buffer[] = [];
        for (const payload of payloads) {
          const forward = expectMove(examineQueuedJob(payload, listQueue, plan, true));
          moves.add(forward.routedClass, listQueue, forward.to, forward.shape);
          rewritten.push(forward.rewritten);
        }
        const reverse = reverseRoutingPlan('run', recorded(moves));

        rewritten.forEach((job, i) => {
          const back = examineQueuedJob(job, destination, reverse, true);
          if (back.kind === 'move') expect(back.rewritten.toString('hex')).toBe(payloads[i]!.toString('hex'));
          else expect(back).toMatchObject({ kind: 'unmapped', sample: { reason: expect.stringContaining('cannot tell which of them this one had') } });
        });
      }),
      { numRuns: 200 },
    );
  });

  it('records both of two shapes that differ only by a missing `queue`, and gives back each job exactly or leaves it in place', () => {
    // Prepare: two ActiveJob jobs of one class whose queue_name already named the destination, one
    // without `queue` (the rewrite inserts it), one with it. Their shapes were one key in the
    // record (shapeKey: `[null,…]` for both), so only the first was recorded and the second came
    // back rewritten by name, its queue_name changed to `old`: other bytes than it had.
    const wrapper = 'ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper';
    const withoutQueue = Buffer.from(`{"class":"${wrapper}","wrapped":"A","args":[{"job_class":"A","queue_name":"new"}]}`);
    const withQueue = Buffer.from(`{"class":"${wrapper}","wrapped":"A","queue":"old","args":[{"job_class":"A","queue_name":"new"}]}`);
    const plan = classRoutingPlan(new Map([['A', 'new']]));
    const moves = new PageMoves();
    const forwards = [withoutQueue, withQueue].map((p) => expectMove(examineQueuedJob(p, 'old', plan, true)));
    for (const f of forwards) moves.add(f.routedClass, 'old', f.to, f.shape);

    // Act
    const reverse = reverseRoutingPlan('run', recorded(moves));
    const back = forwards.map((f) => examineQueuedJob(f.rewritten, 'new', reverse, true));

    // Assess: two members; the job with `queue` comes back exactly; the one without it cannot be
    // told from one that had `"queue":"old"` first, so it stays, counted unmapped: never other bytes.
    expect(moves.members()).toEqual([`["A","old","new",{"queue":null,"queueName":"\\"new\\""}]`, `["A","old","new",{"queueName":"\\"new\\""}]`]);
    expect(expectMove(back[1]!).rewritten.toString()).toBe(withQueue.toString());
    expect(back[0]).toMatchObject({ kind: 'unmapped', sample: { reason: expect.stringContaining('cannot tell which of them this one had') } });
  });

  it("leaves alone an ActiveJob queue_name that already named the destination, and restores one the run rewrote", () => {
    // Prepare: two jobs of different classes, the first with queue_name already `new`.
    const wrapper = 'ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper';
    const kept = Buffer.from(`{"class":"${wrapper}","wrapped":"A","queue":"old","args":[{"job_class":"A","queue_name":"new"}]}`);
    const rewrittenToo = Buffer.from(`{"class":"${wrapper}","wrapped":"B","queue":"old","args":[{"job_class":"B","queue_name":"old"}]}`);
    const plan = classRoutingPlan(new Map([['A', 'new'], ['B', 'new']]));
    const moves = new PageMoves();
    const forwards = [kept, rewrittenToo].map((p) => expectMove(examineQueuedJob(p, 'old', plan, true)));
    for (const f of forwards) moves.add(f.routedClass, 'old', f.to, f.shape);

    // Act
    const reverse = reverseRoutingPlan('run', recorded(moves));
    const back = forwards.map((f) => expectMove(examineQueuedJob(f.rewritten, 'new', reverse, true)).rewritten.toString());

    // Assess: the record says what the run did to each class; each comes back as it was.
    expect(forwards.map((f) => f.rewritten.toString())).toEqual([kept.toString().replace('"queue":"old"', '"queue":"new"'), rewrittenToo.toString().replaceAll('"old"', '"new"')]);
    expect(moves.members()).toContain('["A","old","new",{"queueName":"\\"new\\""}]');
    expect(back).toEqual([kept.toString(), rewrittenToo.toString()]);
  });

  it('a record without shapes (an older run) undoes by name, as before', () => {
    const payload = Buffer.from('{"class":"A","queue":"new","args":[]}');
    const back = expectMove(examineQueuedJob(payload, 'new', reverseRoutingPlan('run', [{ routedClass: 'A', from: 'old', to: 'new' }]), true));
    expect(back.rewritten.toString()).toBe('{"class":"A","queue":"old","args":[]}');
    expect(encodeMove({ routedClass: 'A', from: 'old', to: 'new' })).toBe('["A","old","new"]');
  });
});

function classOf(payload: Buffer): string {
  const job = inspectJob(payload);
  if (job.kind !== 'job') throw new Error('the generator writes jobs');
  return routedClass(job.className, job.wrapped);
}
