// mayMove, the summary's cheap first look at a set entry (may-move.ts): it may let through what is
// no move, never reject what examineScheduledJob moves, or the count of late arrivals in the sets
// would miss them and the summary could say "Complete" over jobs left naming a retired queue.
import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inspectJob } from '../../../core/payload/inspect-job.js';
import { examineScheduledJob } from '../../../core/reroute/examine-job.js';
import { mayMove } from '../../../core/reroute/may-move.js';
import { reverseRoutingPlan } from '../../../core/routing/reverse-plan.js';
import { routedClass } from '../../../core/routing/routed-class.js';
import { classRoutingPlan, renameRoutingPlan, type RoutingPlan } from '../../../core/routing/routing-plan.js';
import { activeJobClass, jsonStringText, jsonValueText, spellings } from '../payload/json-text-arbitraries.js';
import { bytes, readFixture } from '../payload/payload-test-support.js';

const AJ = 'ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper';
const plan = classRoutingPlan(new Map([['A', 'new'], ['Wrapped::Job', 'aj-new'], ['Ünïcode', 'new']]));
const kindOf = (payload: Buffer, p: RoutingPlan) => examineScheduledJob(payload, p, true).kind;

/** The payload, what examine calls it, and what mayMove answers (written by hand, not computed). */
const TABLE: readonly (readonly [string, string, ReturnType<typeof kindOf>, boolean])[] = [
  ['routed already', '{"class":"A","queue":"new","args":[1]}', 'already-routed', false],
  ['to move', '{"class":"A","queue":"old","args":[1]}', 'move', true],
  ['queue after args that hold a "queue" and a "class"', '{"class":"A","args":[{"queue":"new","class":"B"},["queue"]],"queue":"old"}', 'move', true],
  ['class after args that hold one', '{"queue":"old","args":[{"class":"Z"}],"class":"A"}', 'move', true],
  ['a string that looks like the members', '{"note":"\\"queue\\":\\"new\\",\\"class\\":\\"A\\"","class":"A","queue":"old"}', 'move', true],
  ['brackets and quotes inside strings', '{"x":"}]{[\\\\","y":["]",{"}":"{"}],"class":"A","queue":"old"}', 'move', true],
  ['whitespace everywhere', ' \t{ "class" :\n"A" ,\r\n "queue"\t:  "old" }\n', 'move', true],
  ['whitespace, routed already', '{ "queue" : "new" , "class" : "A" }', 'already-routed', false],
  ['an escaped queue value', '{"class":"A","queue":"ol\\u0064"}', 'move', true],
  ['an escaped queue value naming the destination (not sure: examined)', '{"class":"A","queue":"n\\u0065w"}', 'already-routed', true],
  ['an escaped queue key', '{"class":"A","qu\\u0065ue":"old"}', 'move', true],
  ['an escaped class key', '{"\\u0063lass":"A","queue":"old"}', 'move', true],
  ['an escaped class value', '{"class":"\\u0041","queue":"old"}', 'move', true],
  ['no queue (Sidekiq\'s default)', '{"class":"A","args":[]}', 'move', true],
  ['a class named in UTF-8', '{"class":"Ünïcode","queue":"old"}', 'move', true],
  ['ActiveJob, wrapped after args', `{"class":"${AJ}","queue":"default","args":[{"job_class":"Wrapped::Job","queue_name":"default"}],"wrapped":"Wrapped::Job"}`, 'move', true],
  ['ActiveJob, wrapped last, routed already', `{"queue":"aj-new","class":"${AJ}","args":[{}],"wrapped":"Wrapped::Job"}`, 'already-routed', false],
  ['ActiveJob, wrapped first', `{"wrapped":"Wrapped::Job","class":"${AJ}","queue":"default"}`, 'move', true],
  ['ActiveJob, wrapped null (routed by the wrapper: unmapped)', `{"class":"${AJ}","queue":"default","wrapped":null}`, 'unmapped', false],
  ['ActiveJob, no wrapped (unmapped)', `{"class":"${AJ}","queue":"default","args":[]}`, 'unmapped', false],
  ['Sidekiq 8 wrapper, wrapped last', '{"class":"Sidekiq::ActiveJob::Wrapper","queue":"default","args":[{}],"wrapped":"Wrapped::Job"}', 'move', true],
  ['a wrapped on a plain class is not read', '{"class":"A","queue":"new","wrapped":"Wrapped::Job"}', 'already-routed', false],
  ['an unmapped class', '{"class":"Z","queue":"old"}', 'unmapped', false],
  ['a duplicate queue after both (examine: duplicate-key)', '{"queue":"new","class":"A","queue":"old"}', 'unparsable', false],
  ['a duplicate queue before the class (not sure)', '{"queue":"new","queue":"old","class":"A"}', 'unparsable', true],
  ['invalid after the members read', '{"class":"A","queue":"new","args":[1,}', 'unparsable', false],
  ['invalid, members of a move first', '{"class":"A","queue":"old","args":[1,}', 'unparsable', true],
  ['a class that is no string', '{"class":1,"queue":"old"}', 'unparsable', true],
  ['not an object', '["class","A"]', 'unparsable', true],
  ['empty object', '{}', 'unparsable', true],
  ['truncated in a string', '{"class":"A","queue":"ol', 'unparsable', true],
  ['empty', '', 'unparsable', true],
];

describe('mayMove', () => {
  it.each(TABLE)('%s', (_name, text, kind, expected) => {
    const payload = bytes(text);
    expect(kindOf(payload, plan)).toBe(kind);
    expect(mayMove(payload, plan)).toBe(expected);
  });

  it('invalid UTF-8 in a member it reads: examine calls it unparsable, whatever mayMove says', () => {
    const payload = Buffer.concat([bytes('{"class":"A","queue":"'), Buffer.from([0xff]), bytes('"}')]);
    expect(kindOf(payload, plan)).toBe('unparsable');
    expect(typeof mayMove(payload, plan)).toBe('boolean');
  });

  it('real Sidekiq 6.4 and 8 payloads: let through when their class moves, rejected when routed already', () => {
    const files = [
      ...readdirSync(new URL('../../fixtures/sidekiq-6.4-payloads/', import.meta.url)).filter((f) => f.endsWith('.json')).map((f) => readFixture(f)),
      ...readdirSync(new URL('../../fixtures/sidekiq-8-payloads/', import.meta.url))
        .filter((f) => f.endsWith('.json'))
        .map((f) => readFixture(`../sidekiq-8-payloads/${f}`)),
    ];
    // The jobs among them (the others are a process's heartbeat and such).
    const jobs = files.flatMap((payload) => {
      const job = inspectJob(payload);
      return job.kind === 'job' ? [{ payload, job }] : [];
    });
    expect(jobs.length).toBeGreaterThanOrEqual(12);
    for (const { payload, job } of jobs) {
      const cls = routedClass(job.className, job.wrapped);
      const moving = classRoutingPlan(new Map([[cls, 'elsewhere']]));
      const routed = classRoutingPlan(new Map([[cls, job.queue ?? 'default']]));
      expect(kindOf(payload, moving)).toBe('move');
      expect(mayMove(payload, moving)).toBe(true);
      expect(kindOf(payload, routed)).toBe(job.queue === null ? 'move' : 'already-routed');
      expect(mayMove(payload, routed)).toBe(job.queue === null);
      // Renamed queue: moves; another queue renamed: stays.
      expect(mayMove(payload, renameRoutingPlan(new Map([[job.queue ?? 'default', 'renamed']])))).toBe(true);
      expect(mayMove(payload, renameRoutingPlan(new Map([['not-its-queue', 'renamed']])))).toBe(false);
    }
  });

  it('never rejects an entry examine moves: generated payloads, any key order, spelling, whitespace, wrapper, duplicate, under three kinds of plan', () => {
    const classes = ['A', 'B', 'Wrapped::Job', 'Z', AJ, 'Sidekiq::ActiveJob::Wrapper'];
    const queues = ['old', 'new', 'aj-new', 'default', 'kept'];
    const plans: RoutingPlan[] = [
      classRoutingPlan(new Map([['A', 'new'], ['B', 'old'], ['Wrapped::Job', 'aj-new']])),
      renameRoutingPlan(new Map([['old', 'new'], ['default', 'kept']])),
      reverseRoutingPlan('oops', [
        { routedClass: 'A', from: 'old', to: 'new' },
        { routedClass: 'Wrapped::Job', from: 'default', to: 'aj-new' },
        { routedClass: 'B', from: null, to: 'new' },
      ]),
    ];
    const ws = fc.constantFrom('', '', '', ' ', '\n', '\t', '\r\n  ');
    const member = (key: fc.Arbitrary<string>, value: fc.Arbitrary<string>) => fc.tuple(ws, key, ws, ws, value, ws).map(([a, k, b, c, v, d]) => `${a}${k}${b}:${c}${v}${d}`);
    const name = (value: string) => fc.oneof({ weight: 3, arbitrary: fc.constant(JSON.stringify(value)) }, { weight: 1, arbitrary: spellings(value) });
    const decoy = fc.constantFrom('"queue"', '"class"', '"wrapped"', '"qu\\u0065ue"');
    const args = fc.oneof(
      jsonValueText.map((v) => `[${v}]`),
      fc.tuple(decoy, fc.constantFrom(...queues, ...classes)).map(([k, v]) => `[{${k}:${JSON.stringify(v)}},"${k.replaceAll('"', '\\"')}"]`),
    );
    const payload = fc
      .record({
        cls: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...classes).chain(name) }, { weight: 1, arbitrary: activeJobClass }, { weight: 1, arbitrary: jsonStringText }),
        queue: fc.option(fc.constantFrom(...queues).chain(name)),
        wrapped: fc.option(fc.oneof(fc.constantFrom('Wrapped::Job', 'A', 'Z', '').chain(name), fc.constant('null'))),
        args,
        others: fc.array(member(fc.oneof(jsonStringText, decoy), jsonValueText), { maxLength: 3 }),
        // A duplicate of a member examine reads (then never a move) in one payload of five.
        dup: fc.oneof(
          { weight: 4, arbitrary: fc.constant(null) },
          { weight: 1, arbitrary: member(fc.constantFrom('"class"', '"queue"', '"wrapped"', '"qu\\u0065ue"'), fc.constantFrom(...queues, ...classes).chain(name)) },
        ),
        order: fc.array(fc.nat(), { minLength: 5, maxLength: 5 }),
        keys: fc.tuple(fc.constantFrom('"class"', '"class"', '"class"', '"cl\\u0061ss"'), fc.constantFrom('"queue"', '"queue"', '"queue"', '"\\u0071ueue"'), fc.constantFrom('"wrapped"', '"wrapped"', '"wr\\u0061pped"')),
        outer: fc.tuple(ws, ws),
      })
      .chain((r) =>
        fc.tuple(member(fc.constant(r.keys[0]), fc.constant(r.cls)), r.queue === null ? fc.constant(null) : member(fc.constant(r.keys[1]), fc.constant(r.queue)), r.wrapped === null ? fc.constant(null) : member(fc.constant(r.keys[2]), fc.constant(r.wrapped)), member(fc.constant('"args"'), fc.constant(r.args))).map((required) => {
          const members = [...r.others];
          [...required, r.dup].forEach((m, i) => {
            if (m !== null) members.splice(r.order[i]! % (members.length + 1), 0, m);
          });
          return `${r.outer[0]}{${members.join(',')}}${r.outer[1]}`;
        }),
      );
    // And each payload with one byte deleted, inserted or replaced: examine may still call some a move.
    const mutated = fc.tuple(payload, fc.nat(), fc.constantFrom('delete', 'insert', 'replace'), fc.constantFrom(...'"\\{}[],: ax0'.split(''))).map(([text, at, how, c]) => {
      const i = at % (text.length + 1);
      return how === 'delete' ? text.slice(0, i) + text.slice(i + 1) : how === 'insert' ? text.slice(0, i) + c + text.slice(i) : text.slice(0, i) + c + text.slice(i + 1);
    });
    const moves = plans.map(() => 0);
    const rejected = plans.map(() => 0);
    fc.assert(
      fc.property(fc.oneof({ weight: 3, arbitrary: payload }, { weight: 1, arbitrary: mutated }), (text) => {
        const buf = bytes(text);
        plans.forEach((p, i) => {
          const moved = kindOf(buf, p) === 'move';
          const may = mayMove(buf, p);
          if (moved) moves[i]!++;
          if (!may) rejected[i]!++;
          if (moved && !may) throw new Error(`rejected a move under plan ${p.kind}: ${text}`);
        });
      }),
      { numRuns: 10_000 },
    );
    // Not vacuous: every plan saw moves, and mayMove rejected entries under each.
    for (const [i, p] of plans.entries()) {
      expect(moves[i], p.kind).toBeGreaterThan(100);
      expect(rejected[i], p.kind).toBeGreaterThan(300);
    }
  });
});
