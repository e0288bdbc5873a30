import { describe, expect, it } from 'vitest';
import { FatalError } from '../../../core/errors/sidekiq-migrate-error.js';
import { InputError } from '../../../core/errors/input-error.js';
import { inspectJob } from '../../../core/payload/inspect-job.js';
import { rewriteQueue, type RewriteQueueOptions } from '../../../core/payload/rewrite-queue.js';
import { bytes, expectJob, expectOnlyQueueChanged, parseJson } from './payload-test-support.js';

/** Rewrites `text` and returns the result as text. */
function rewrite(text: string, newQueue: string, opts?: RewriteQueueOptions): string {
  const payload = bytes(text);
  return rewriteQueue(payload, expectJob(inspectJob(payload)), newQueue, opts).toString('utf8');
}

const AJ = 'ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper';

describe('rewriteQueue', () => {
  // Each case: the payload, then what must come out; the top-level value is always `"old"`.
  it.each([
    [
      'numbers JSON.parse would change',
      '{"queue":"old","args":[1.0,-0.0,1.0e+20,1.5e-07,4611686018427387905,18446744073709551616],"class":"C"}',
      '{"queue":"new","args":[1.0,-0.0,1.0e+20,1.5e-07,4611686018427387905,18446744073709551616],"class":"C"}',
    ],
    [
      'integer-like keys after others',
      '{"class":"C","args":[{"list":1,"10":"ten","2":"two"}],"queue":"old"}',
      '{"class":"C","args":[{"list":1,"10":"ten","2":"two"}],"queue":"new"}',
    ],
    [
      'escapes a re-serialiser would normalise',
      '{"class":"C","queue":"old","args":["\\/\\u00e9\\uD83D\\uDE80\\u2028"]}',
      '{"class":"C","queue":"new","args":["\\/\\u00e9\\uD83D\\uDE80\\u2028"]}',
    ],
    [
      'a nested "queue" in args',
      '{"class":"C","args":[{"queue":"old"},[{"queue":"old"}]],"queue":"old"}',
      '{"class":"C","args":[{"queue":"old"},[{"queue":"old"}]],"queue":"new"}',
    ],
    [
      'a "queue" inside a string',
      '{"class":"C","args":["\\"queue\\":\\"old\\""],"queue":"old"}',
      '{"class":"C","args":["\\"queue\\":\\"old\\""],"queue":"new"}',
    ],
    [
      'pretty-printed whitespace',
      '{\n  "class" : "C",\n  "queue" :\t"old" ,\r\n  "args" : [ ]\n}\n',
      '{\n  "class" : "C",\n  "queue" :\t"new" ,\r\n  "args" : [ ]\n}\n',
    ],
    [
      'Sidekiq 8 millisecond timestamps',
      '{"class":"C","queue":"old","created_at":1795459303846,"enqueued_at":1795459303846}',
      '{"class":"C","queue":"new","created_at":1795459303846,"enqueued_at":1795459303846}',
    ],
  ])('keeps every other byte: %s', (_name, text, expected) => {
    // Prepare
    const payload = bytes(text);

    // Act
    const rewritten = rewriteQueue(payload, expectJob(inspectJob(payload)), 'new');

    // Assess
    expect(rewritten.toString('utf8')).toBe(expected);
    expectOnlyQueueChanged(payload, rewritten, 'new', { queueNameToo: false });
  });

  it('rewrites the value of an escaped key, and leaves the key as written', () => {
    // Act
    const out = rewrite('{"class":"C","qu\\u0065ue":"old"}', 'new');

    // Assess
    expect(out).toBe('{"class":"C","qu\\u0065ue":"new"}');
  });

  it('rewrites an escaped old value into the plain form Ruby writes', () => {
    // Act
    const out = rewrite('{"class":"C","queue":"\\u006fld"}', 'new');

    // Assess
    expect(out).toBe('{"class":"C","queue":"new"}');
  });

  it.each([
    ['quote and backslash', 'a"b\\c', '"a\\"b\\\\c"'],
    ['control characters', 'a\nb\x01', '"a\\nb\\u0001"'],
    ['slash, U+2028 and non-ASCII raw', 'a/b\u2028é🚀', '"a/b\u2028é🚀"'],
  ])('encodes the new name as Ruby does: %s', (_name, newQueue, token) => {
    // Act
    const out = rewrite('{"class":"C","queue":"old"}', newQueue);

    // Assess
    expect(out).toBe(`{"class":"C","queue":${token}}`);
    expect(parseJson(bytes(out)).queue).toBe(newQueue);
  });

  it('inserts "queue" right after the opening brace when the payload has none', () => {
    // Act
    const out = rewrite('  {"class":"C","args":[{"queue":"x"}]} ', 'new');

    // Assess
    expect(out).toBe('  {"queue":"new","class":"C","args":[{"queue":"x"}]} ');
    expect(expectJob(inspectJob(bytes(out))).queue).toBe('new');
  });

  it('inserts into a pretty-printed payload without touching its whitespace', () => {
    // Act
    const out = rewrite('{\n  "class": "C"\n}', 'new');

    // Assess
    expect(out).toBe('{"queue":"new",\n  "class": "C"\n}');
    expect(parseJson(bytes(out))).toEqual({ queue: 'new', class: 'C' });
  });

  it.each([AJ, 'Sidekiq::ActiveJob::Wrapper'])('%s: rewrites args[0].queue_name equal to the old queue', (wrapper) => {
    // Act
    const out = rewrite(`{"class":"${wrapper}","queue":"old","args":[{"queue_name":"old","arguments":[{"queue_name":"old"}]}]}`, 'new');

    // Assess
    expect(out).toBe(`{"class":"${wrapper}","queue":"new","args":[{"queue_name":"new","arguments":[{"queue_name":"old"}]}]}`);
  });

  it.each([
    ['a queue_name that differs from the old queue', `{"class":"${AJ}","queue":"old","args":[{"queue_name":"other"}]}`],
    ['a queue_name that is not a string', `{"class":"${AJ}","queue":"old","args":[{"queue_name":null}]}`],
    ['a plain job whose first argument has a queue_name', '{"class":"C","queue":"old","args":[{"queue_name":"old"}]}'],
    ['queue_name in args[1]', `{"class":"${AJ}","queue":"old","args":[1,{"queue_name":"old"}]}`],
  ])('leaves alone %s', (_name, text) => {
    // Prepare
    const payload = bytes(text);

    // Act
    const rewritten = rewriteQueue(payload, expectJob(inspectJob(payload)), 'new');

    // Assess
    expectOnlyQueueChanged(payload, rewritten, 'new', { queueNameToo: false });
  });

  it('leaves queue_name alone when the option is off', () => {
    // Act
    const out = rewrite(`{"class":"${AJ}","queue":"old","args":[{"queue_name":"old"}]}`, 'new', {
      activeJobQueueName: false,
    });

    // Assess
    expect(out).toBe(`{"class":"${AJ}","queue":"new","args":[{"queue_name":"old"}]}`);
  });

  it('treats a missing queue as "default" when matching queue_name', () => {
    // Act
    const out = rewrite(`{"class":"${AJ}","args":[{"queue_name":"default"}]}`, 'new');

    // Assess
    expect(out).toBe(`{"queue":"new","class":"${AJ}","args":[{"queue_name":"new"}]}`);
  });

  it('rewrites queue_name before the queue as well as after it', () => {
    // Act
    const out = rewrite(`{"args":[ { "queue_name" : "old" } ],"class":"${AJ}","queue":"old"}`, 'a longer name');

    // Assess
    expect(out).toBe(`{"args":[ { "queue_name" : "a longer name" } ],"class":"${AJ}","queue":"a longer name"}`);
  });

  it('rewrites a 1 MB payload and keeps its bulk intact', () => {
    // Prepare
    const big = '\\"é'.repeat(350_000);
    const payload = bytes(`{"class":"C","queue":"old","args":["${big}"],"n":1.0}`);
    const fields = expectJob(inspectJob(payload));

    // Act
    const rewritten = rewriteQueue(payload, fields, 'new');

    // Assess
    expect(payload.length).toBeGreaterThan(1024 * 1024);
    expectOnlyQueueChanged(payload, rewritten, 'new', { queueNameToo: false });
  });

  it('refuses a new name that is not valid Unicode (Buffer would silently write U+FFFD)', () => {
    // Prepare
    const payload = bytes('{"class":"C","queue":"old"}');
    const fields = expectJob(inspectJob(payload));

    // Act
    const act = () => rewriteQueue(payload, fields, 'bad\ud800');

    // Assess
    expect(act).toThrow(InputError);
  });

  it('refuses fields that were read from another payload', () => {
    // Prepare
    const fields = expectJob(inspectJob(bytes('{"class":"C","queue":"old"}')));

    // Act
    const act = () => rewriteQueue(bytes('{"class":"C","queue":"longer"}'), fields, 'new');

    // Assess
    expect(act).toThrow(FatalError);
    expect(act).toThrow('rewriteQueue: the job fields were read from another payload');
  });
});
