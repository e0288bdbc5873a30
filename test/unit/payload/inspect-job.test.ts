import { describe, expect, it } from 'vitest';
import { inspectJob, jobVerdict } from '../../../core/payload/inspect-job.js';
import { ACTIVE_JOB_WRAPPERS } from '../../../core/routing/routed-class.js';
import { classRoutingPlan, decideRoute } from '../../../core/routing/routing-plan.js';
import { bytes, expectJob } from './payload-test-support.js';

const inspect = (text: string) => inspectJob(bytes(text));

describe('inspectJob', () => {
  it.each([
    ['a duplicate queue', '{"class":"C","queue":"a","queue":"b"}'],
    ['a duplicate class', '{"class":"C","queue":"a","class":"D"}'],
    ['a duplicate wrapped', '{"class":"C","wrapped":"W","wrapped":"V"}'],
    ['a duplicate jid', '{"class":"C","jid":"a","jid":"b"}'],
    ['a duplicate enqueued_at', '{"class":"C","enqueued_at":1.0,"enqueued_at":2.0}'],
    ['a duplicate created_at', '{"class":"C","created_at":1.0,"created_at":2.0}'],
    ['a duplicate args', '{"class":"C","args":[{"queue_name":"a"}],"args":[{"queue_name":"b"}]}'],
    ['a duplicate args[0].queue_name', '{"class":"C","args":[{"queue_name":"a","queue_name":"b"}]}'],
    ['a duplicate spelled with an escape', '{"class":"C","queue":"a","qu\\u0065ue":"b"}'],
    ['a duplicate of a different type', '{"class":"C","queue":"a","queue":null}'],
  ])('refuses %s: duplicate-key (readers disagree on which one counts)', (_name, text) => {
    // Act
    const result = inspect(text);

    // Assess
    expect(result).toEqual({ kind: 'unparsable', reason: 'duplicate-key' });
  });

  it('accepts duplicates of members it does not read, and nested duplicates', () => {
    // Act
    const result = inspect('{"class":"C","retry":true,"retry":false,"queue":"q","args":[1,{"a":1,"a":2}]}');

    // Assess
    expect(expectJob(result)).toMatchObject({ className: 'C', queue: 'q' });
  });

  it.each([
    ['a number', '{"class":"C","queue":5}'],
    ['null', '{"class":"C","queue":null}'],
    ['an array', '{"class":"C","queue":["q"]}'],
    ['an object', '{"class":"C","queue":{"name":"q"}}'],
    ['true', '{"class":"C","queue":true}'],
  ])('refuses a queue that is %s: queue-not-string', (_name, text) => {
    // Act
    const result = inspect(text);

    // Assess
    expect(result).toEqual({ kind: 'unparsable', reason: 'queue-not-string' });
  });

  it.each([
    ['no class at all', '{"queue":"q","args":[]}', 'missing-class'],
    ['a class only inside args', '{"queue":"q","args":[{"class":"C"}]}', 'missing-class'],
    ['an empty object', '{}', 'missing-class'],
    ['a null class', '{"class":null}', 'class-not-string'],
    ['a numeric class', '{"class":1}', 'class-not-string'],
    ['a numeric wrapped', '{"class":"C","wrapped":1}', 'wrapped-not-string'],
    ['a wrapped of four characters that is not null', '{"class":"C","wrapped":true}', 'wrapped-not-string'],
    ['a wrapped of four digits', '{"class":"C","wrapped":1234}', 'wrapped-not-string'],
    ['an object wrapped', '{"class":"C","wrapped":{}}', 'wrapped-not-string'],
  ])('refuses %s', (_name, text, reason) => {
    // Act
    const result = inspect(text);

    // Assess
    expect(result).toEqual({ kind: 'unparsable', reason });
    // The verdict alone (a transfer without routing) says the same, and is read again right after
    // a scan that found those members elsewhere (its table is reset for each payload).
    expect(jobVerdict(bytes('{"class":"A","queue":"q","wrapped":"W"}'))).toBeNull();
    expect(jobVerdict(bytes(text))).toBe(reason);
  });

  it.each([
    ['a plain job', '{"class":"C","queue":"q","args":[]}'],
    ['a job without a queue', '{"class":"C","args":[]}'],
    ['wrapped null', '{"class":"C","wrapped":null}'],
    ['a string wrapped', '{"class":"C","wrapped":"W"}'],
  ])('passes %s as a job, verdict alone', (_name, text) => {
    expect(jobVerdict(bytes('{"class":1}'))).toBe('class-not-string');
    expect(jobVerdict(bytes(text))).toBeNull();
  });

  it('reads a missing queue as null (Sidekiq: "default"), not as unparsable', () => {
    // Act
    const result = expectJob(inspect('{"class":"C","args":[]}'));

    // Assess
    expect(result.queue).toBeNull();
    expect(result.spans.queue).toBeNull();
  });

  it('reads wrapped null like a missing wrapped', () => {
    // Act
    const result = expectJob(inspect('{"class":"C","wrapped":null}'));

    // Assess
    expect(result.wrapped).toBeNull();
  });

  it('reads a non-string jid as null', () => {
    // Act
    const result = expectJob(inspect('{"class":"C","jid":12}'));

    // Assess
    expect(result.jid).toBeNull();
  });

  it.each([
    ['an escaped key', '{"cl\\u0061ss":"C","qu\\u0065ue":"q"}', 'C', 'q'],
    ['a fully escaped key', '{"class":"C","\\u0071\\u0075\\u0065\\u0075\\u0065":"q"}', 'C', 'q'],
    ['escapes in values', '{"class":"A::B\\u0043","queue":"\\"q\\"\\\\\\/\\n\\t\\u00e9"}', 'A::BC', '"q"\\/\n\té'],
    ['a surrogate pair escape', '{"class":"C","queue":"\\ud83d\\ude80"}', 'C', '🚀'],
    ['raw non-ASCII', '{"class":"Jöb","queue":"日本語 🚀"}', 'Jöb', '日本語 🚀'],
    ['a key with a trailing space is another key', '{"class":"C","queue ":"x","queue":"q"}', 'C', 'q'],
  ])('decodes %s', (_name, text, className, queue) => {
    // Act
    const result = expectJob(inspect(text));

    // Assess
    expect(result).toMatchObject({ className, queue });
    const parsed = JSON.parse(text) as { class: string; queue: string };
    expect([result.className, result.queue]).toEqual([parsed.class, parsed.queue]);
  });

  it('keeps a lone surrogate escape as a lone surrogate (it then matches no real queue name)', () => {
    // Act
    const result = expectJob(inspect('{"class":"C","queue":"a\\ud800"}'));

    // Assess
    expect(result.queue).toBe('a\ud800');
  });

  it('reads a pretty-printed payload with whitespace everywhere', () => {
    // Prepare
    const text = JSON.stringify({ retry: true, queue: 'q', args: [{ queue: 'no' }], class: 'C', jid: 'j' }, null, 2);

    // Act
    const result = expectJob(inspect(`\r\n\t ${text.replaceAll(':', ' :\t')} \n`));

    // Assess
    expect(result).toMatchObject({ className: 'C', queue: 'q', jid: 'j' });
  });

  it.each([
    ['Sidekiq ≤ 7 float seconds', '1795459303.8460433', 1795459303.8460433],
    ['Sidekiq 8 integer milliseconds', '1795459303846', 1795459303.846],
    ['a float with an exponent (Ruby Float: seconds)', '1.7954593038460433e+09', 1795459303.8460433],
    ['an integer-valued float', '1795459303.0', 1795459303],
    ['an integer beyond 2^53 milliseconds', '18446744073709551616', 2 ** 64 / 1000],
    ['a string', '"2026-11-23T18:41:43Z"', null],
    ['null', 'null', null],
    ['an overflowing float', '1e400', null],
  ])('reads enqueued_at as %s', (_name, text, seconds) => {
    // Act
    const result = expectJob(inspect(`{"class":"C","enqueued_at":${text}}`));

    // Assess
    expect(result.enqueuedAt).toBe(seconds);
    expect(result.enqueuedAtText).toBe(text);
  });

  it('reads a missing enqueued_at (schedule entries) as null', () => {
    // Act
    const result = expectJob(inspect('{"class":"C"}'));

    // Assess
    expect([result.enqueuedAt, result.enqueuedAtText]).toEqual([null, null]);
  });

  it.each([...ACTIVE_JOB_WRAPPERS])('knows %s as an ActiveJob wrapper and reads args[0].queue_name', (wrapper) => {
    // Act
    const result = expectJob(
      inspect(`{"class":"${wrapper}","wrapped":"MailJob","queue":"q","args":[{"queue_name":"aj","queue":"x"}]}`),
    );

    // Assess
    expect(result).toMatchObject({ isActiveJob: true, wrapped: 'MailJob', activeJobQueueName: 'aj' });
  });

  it.each([
    ['a plain job', '{"class":"C","queue":"q","args":[{"queue_name":"q"}]}'],
    ['a wrapper whose queue_name is null', '{"class":"Sidekiq::ActiveJob::Wrapper","args":[{"queue_name":null}]}'],
    ['a wrapper without args', '{"class":"Sidekiq::ActiveJob::Wrapper"}'],
    ['a wrapper with empty args', '{"class":"Sidekiq::ActiveJob::Wrapper","args":[]}'],
  ])('has no activeJobQueueName for %s', (_name, text) => {
    // Act
    const result = expectJob(inspect(text));

    // Assess
    expect(result.activeJobQueueName).toBeNull();
  });

  it('reads a 1 MB payload, whose args dwarf the fields', () => {
    // Prepare
    const big = 'x'.repeat(1024 * 1024);
    const text = `{"class":"C","args":["${big}",{"queue":"no"}],"queue":"q","jid":"j"}`;

    // Act
    const result = expectJob(inspect(text));

    // Assess
    expect(result).toMatchObject({ className: 'C', queue: 'q', jid: 'j' });
    expect(result.spans.queue!.start).toBeGreaterThan(1024 * 1024);
  });

  it('returns one shared object per reason, so bad payloads cost no allocation', () => {
    // Act
    const first = inspect('{"queue":"q"}');
    const second = inspect('{"args":[]}');

    // Assess
    expect(first).toBe(second);
    expect(Object.isFrozen(first)).toBe(true);
  });

  it('gives fields the routing plan takes as they are (ActiveJob routed by wrapped)', () => {
    // Prepare
    const plan = classRoutingPlan(new Map([['MailJob', 'mailers_new']]));
    const fields = expectJob(inspect('{"class":"Sidekiq::ActiveJob::Wrapper","wrapped":"MailJob","queue":"mailers"}'));

    // Act
    const decision = decideRoute(plan, fields);

    // Assess
    expect(decision).toEqual({ action: 'move', to: 'mailers_new' });
  });
});
