import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../../core/routing/catalog/load-catalog.js';
import type { WorkerMetadata } from '../../../core/routing/catalog/worker-metadata.js';
import { compileQuery } from '../../../core/routing/query/compile-query.js';
import { QueryError } from '../../../core/routing/query/query-errors.js';
import type { RubyAtom } from '../../../core/routing/ruby-value.js';
import { CE_CATALOG_PATH } from './support/workers.js';

// Property tests of the worker matching query over the real CE catalog (569 entries, the two
// placeholders included, since GitLab's queue selectors see them too).

const WORKERS: readonly WorkerMetadata[] = loadCatalog([CE_CATALOG_PATH]).workers;

const ATTRIBUTES = [
  'worker_name',
  'name',
  'feature_category',
  'has_external_dependencies',
  'urgency',
  'resource_boundary',
  'tags',
  'queue_namespace',
] as const;
type Attribute = (typeof ATTRIBUTES)[number];

// ---- An independent reference evaluator (gitlab-reference §4.2) -------------------------------
// A worker's attribute is a set of tagged keys: "str:" for Ruby Strings, "sym:" for Symbols,
// "bool:" for booleans; nil is the empty set. A term holds when the sets intersect (`=`) or are
// disjoint (`!=`). Query values are Symbols, except for worker_name/name (Strings) and
// has_external_dependencies (true exactly for the string "true").

const atomKeyOf = (atom: RubyAtom): string => (typeof atom === 'object' ? `sym:${atom.symbol}` : `str:${atom}`);
const nullable = (atom: RubyAtom | null): string[] => (atom === null ? [] : [atomKeyOf(atom)]);

function referenceWorkerSet(attribute: Attribute, w: WorkerMetadata): Set<string> {
  switch (attribute) {
    case 'worker_name':
      return new Set(w.workerName === null ? [] : [`str:${w.workerName}`]);
    case 'name':
      return new Set([`str:${w.name}`]);
    case 'feature_category':
      return new Set(nullable(w.featureCategory));
    case 'urgency':
      return new Set(nullable(w.urgency));
    case 'resource_boundary':
      return new Set(nullable(w.resourceBoundary));
    case 'queue_namespace':
      return new Set(nullable(w.queueNamespace));
    case 'tags':
      return new Set(w.tags.map(atomKeyOf));
    case 'has_external_dependencies':
      return new Set(w.hasExternalDependencies === null ? [] : [`bool:${w.hasExternalDependencies}`]);
  }
}

function referenceQueryKey(attribute: Attribute, value: string): string {
  if (attribute === 'worker_name' || attribute === 'name') return `str:${value}`;
  if (attribute === 'has_external_dependencies') return `bool:${value === 'true'}`;
  return `sym:${value}`;
}

interface Term {
  readonly attribute: Attribute;
  readonly negated: boolean;
  readonly values: readonly string[];
}
type Query = { readonly kind: 'star'; readonly padding: readonly [string, string] } | { readonly kind: 'or'; readonly branches: readonly (readonly Term[])[] };

function referenceMatches(query: Query, w: WorkerMetadata): boolean {
  if (query.kind === 'star') return true;
  return query.branches.some((terms) =>
    terms.every((term) => {
      const have = referenceWorkerSet(term.attribute, w);
      const intersects = term.values.some((v) => have.has(referenceQueryKey(term.attribute, v)));
      return term.negated ? !intersects : intersects;
    }),
  );
}

const termText = (t: Term): string => `${t.attribute}${t.negated ? '!=' : '='}${t.values.join(',')}`;
const queryText = (q: Query): string =>
  q.kind === 'star' ? `${q.padding[0]}*${q.padding[1]}` : q.branches.map((terms) => terms.map(termText).join('&')).join('|');

// ---- Arbitraries -------------------------------------------------------------------------------

const atomText = (atom: RubyAtom | null): string[] => (atom === null ? [] : [typeof atom === 'object' ? atom.symbol : atom]);
const distinct = (values: Iterable<string>): string[] => [...new Set(values)].sort();

/** The values the catalog really has, per attribute, so that generated terms often match. */
const REAL_VALUES: Record<Attribute, string[]> = {
  worker_name: distinct(WORKERS.flatMap((w) => (w.workerName === null ? [] : [w.workerName]))),
  name: distinct(WORKERS.map((w) => w.name)),
  feature_category: distinct(WORKERS.flatMap((w) => atomText(w.featureCategory))),
  has_external_dependencies: ['true', 'false'],
  urgency: distinct(WORKERS.flatMap((w) => atomText(w.urgency))),
  resource_boundary: distinct(WORKERS.flatMap((w) => atomText(w.resourceBoundary))),
  tags: distinct(WORKERS.flatMap((w) => w.tags.flatMap((t) => atomText(t)))),
  queue_namespace: distinct(WORKERS.flatMap((w) => atomText(w.queueNamespace))),
};

const randomValue = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789_:'), minLength: 1, maxLength: 10 });

const termArb: fc.Arbitrary<Term> = fc.constantFrom(...ATTRIBUTES).chain((attribute) =>
  fc.record({
    attribute: fc.constant(attribute),
    negated: fc.boolean(),
    values: fc.array(fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...REAL_VALUES[attribute]) }, { weight: 1, arbitrary: randomValue }), {
      minLength: 1,
      maxLength: 3,
    }),
  }),
);

const whitespace = fc.string({ unit: fc.constantFrom(' ', '\t', '\n', '\r'), maxLength: 3 });

const queryArb: fc.Arbitrary<Query> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('star' as const), padding: fc.tuple(whitespace, whitespace) }) },
  {
    weight: 9,
    arbitrary: fc.record({
      kind: fc.constant('or' as const),
      branches: fc.array(fc.array(termArb, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }),
    }),
  },
);

const selected = (matches: (w: WorkerMetadata) => boolean): string[] => WORKERS.filter(matches).map((w) => w.name);

// ---- Properties --------------------------------------------------------------------------------

describe('worker matching query: properties over the CE catalog', () => {
  it('has real values to draw from for every attribute', () => {
    expect(REAL_VALUES.urgency).toEqual(['high', 'low', 'throttled']);
    expect(REAL_VALUES.resource_boundary).toEqual(['cpu', 'memory', 'unknown']);
    expect(REAL_VALUES.tags).toEqual(['clickhouse', 'cronjob_child', 'import_shared_storage']);
    expect(REAL_VALUES.worker_name).toHaveLength(568); // 567 workers + ActionMailer::MailDeliveryJob
  });

  it('(i) a well-formed query always compiles, with no quirk to report but a boolean spelt otherwise than true or false', () => {
    fc.assert(
      fc.property(queryArb, (query) => {
        const compiled = compileQuery(queryText(query));
        // GitLab reads every value but "true" as false: said, never refused.
        const oddBooleans = query.kind === 'or' ? query.branches.flat().filter((t) => t.attribute === 'has_external_dependencies').flatMap((t) => t.values.filter((v) => v !== 'true' && v !== 'false')) : [];
        expect(compiled.quirks.filter((q) => q.code !== 'boolean-value')).toEqual([]);
        expect(compiled.quirks.length > 0).toBe(oddBooleans.length > 0);
        expect(compiled.universal).toBe(query.kind === 'star');
      }),
      { numRuns: 1000 },
    );
  });

  it('(ii) evaluation agrees with the reference evaluator on every worker', () => {
    fc.assert(
      fc.property(queryArb, (query) => {
        const compiled = compileQuery(queryText(query));
        expect(selected((w) => compiled.matches(w))).toEqual(selected((w) => referenceMatches(query, w)));
      }),
      { numRuns: 300 },
    );
  });

  it('(iii) any string either compiles, and evaluates without error, or is refused with a QueryError', () => {
    const queryish = fc.string({
      unit: fc.constantFrom(...'ab_:,=!&|* \t\n-"()é', 'urgency', 'tags', 'name', 'high', 'weight', 'worker_name'),
      maxLength: 20,
    });
    fc.assert(
      fc.property(fc.oneof(queryish, fc.string({ unit: 'binary', maxLength: 20 }), fc.string({ maxLength: 30 })), (text) => {
        let compiled;
        try {
          compiled = compileQuery(text);
        } catch (error) {
          expect(error).toBeInstanceOf(QueryError);
          expect((error as Error).message).toMatch(/^(Invalid term: |Unknown predicate: )/);
          return;
        }
        for (const w of WORKERS.slice(0, 40)) expect(typeof compiled.matches(w)).toBe('boolean');
        for (const quirk of compiled.quirks) expect(quirk.message.length).toBeGreaterThan(0);
      }),
      { numRuns: 3000 },
    );
  });

  it('`!=` selects exactly the complement of `=`', () => {
    fc.assert(
      fc.property(termArb, (term) => {
        const positive = compileQuery(termText({ ...term, negated: false }));
        const negative = compileQuery(termText({ ...term, negated: true }));
        expect(WORKERS.map((w) => negative.matches(w))).toEqual(WORKERS.map((w) => !positive.matches(w)));
      }),
      { numRuns: 200 },
    );
  });

  it('`attr=v1,v2` selects the same workers as `attr=v1|attr=v2`', () => {
    fc.assert(
      fc.property(termArb, (term) => {
        const list = compileQuery(termText({ ...term, negated: false }));
        const alternatives = compileQuery(term.values.map((v) => `${term.attribute}=${v}`).join('|'));
        expect(selected((w) => list.matches(w))).toEqual(selected((w) => alternatives.matches(w)));
      }),
      { numRuns: 200 },
    );
  });

  it('`q1|q2` selects the union of what q1 and q2 select, `q1&q2` (single-branch) the intersection', () => {
    const branchArb = fc.array(termArb, { minLength: 1, maxLength: 2 });
    fc.assert(
      fc.property(branchArb, branchArb, (a, b) => {
        const [qa, qb] = [compileQuery(a.map(termText).join('&')), compileQuery(b.map(termText).join('&'))];
        const or = compileQuery(`${a.map(termText).join('&')}|${b.map(termText).join('&')}`);
        const and = compileQuery([...a, ...b].map(termText).join('&'));
        expect(WORKERS.map((w) => or.matches(w))).toEqual(WORKERS.map((w) => qa.matches(w) || qb.matches(w)));
        expect(WORKERS.map((w) => and.matches(w))).toEqual(WORKERS.map((w) => qa.matches(w) && qb.matches(w)));
      }),
      { numRuns: 150 },
    );
  });
});
