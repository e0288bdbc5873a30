import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../../core/routing/catalog/load-catalog.js';
import { compileQuery } from '../../../core/routing/query/compile-query.js';
import { InvalidTermError, QueryError, UnknownPredicateError } from '../../../core/routing/query/query-errors.js';
import type { QueryQuirk } from '../../../core/routing/query/query-quirk.js';
import { InputError } from '../../../core/errors/input-error.js';
import {
  CATALOG_M,
  CE_CATALOG_PATH,
  DEFAULT_PLACEHOLDER,
  MAILERS_PLACEHOLDER,
  selectedNames,
  workerMetadata,
} from './support/workers.js';

// GitLab's worker matching query (gitlab-reference §4), checked against the cases of GitLab's
// worker_matcher_spec (§6.1) and the derived edge cases of §4.3.

const ALL = ['WorkerA', 'WorkerA2', 'WorkerB', 'WorkerC'];

/** The class names a query selects from catalog M, in catalog order. */
function selectFromM(query: string): (string | null)[] {
  const compiled = compileQuery(query);
  return selectedNames(CATALOG_M, (w) => compiled.matches(w));
}

describe('worker matching query: GitLab spec cases M01–M42 over catalog M', () => {
  it.each<[string, string, string[]]>([
    ['M01', 'worker_name=WorkerA', ['WorkerA']],
    ['M02', 'worker_name=WorkerA2', ['WorkerA2']],
    ['M03', 'worker_name=WorkerB|worker_name=WorkerD', ['WorkerB']],
    ['M04', 'worker_name!=WorkerA', ['WorkerA2', 'WorkerB', 'WorkerC']],
    ['M05', 'feature_category=category_a', ['WorkerA', 'WorkerA2']],
    ['M06', 'feature_category=category_a,category_c', ['WorkerA', 'WorkerA2', 'WorkerC']],
    ['M07', 'feature_category=category_a|feature_category=category_c', ['WorkerA', 'WorkerA2', 'WorkerC']],
    ['M08', 'feature_category!=category_a', ['WorkerB', 'WorkerC']],
    ['M09', 'has_external_dependencies=true', ['WorkerB']],
    ['M10', 'has_external_dependencies=false', ['WorkerA', 'WorkerA2', 'WorkerC']],
    ['M11', 'has_external_dependencies=true,false', ALL],
    ['M12', 'has_external_dependencies=true|has_external_dependencies=false', ALL],
    ['M13', 'has_external_dependencies!=true', ['WorkerA', 'WorkerA2', 'WorkerC']],
    ['M14', 'urgency=high', ['WorkerA2', 'WorkerB']],
    ['M15', 'urgency=low', ['WorkerA']],
    ['M16', 'urgency=high,low,throttled', ALL],
    ['M17', 'urgency=low|urgency=throttled', ['WorkerA', 'WorkerC']],
    ['M18', 'urgency!=high', ['WorkerA', 'WorkerC']],
    ['M19', 'name=pipeline_processing:worker_a', ['WorkerA']],
    ['M20', 'name=pipeline_processing:worker_a,authorized_project_update:worker_b', ['WorkerA', 'WorkerB']],
    [
      'M21',
      'name=pipeline_processing:worker_a,pipeline_processing:worker_a2|name=authorized_project_update:worker_b',
      ['WorkerA', 'WorkerA2', 'WorkerB'],
    ],
    ['M22', 'name!=pipeline_processing:worker_a,pipeline_processing:worker_a2', ['WorkerB', 'WorkerC']],
    ['M23', 'resource_boundary=memory', ['WorkerB', 'WorkerC']],
    ['M24', 'resource_boundary=memory,cpu', ['WorkerA', 'WorkerB', 'WorkerC']],
    ['M25', 'resource_boundary=memory|resource_boundary=cpu', ['WorkerA', 'WorkerB', 'WorkerC']],
    ['M26', 'resource_boundary!=memory,cpu', ['WorkerA2']],
    ['M27', 'tags=no_disk_io', ['WorkerA', 'WorkerB']],
    ['M28', 'tags=no_disk_io,git_access', ['WorkerA', 'WorkerA2', 'WorkerB']],
    ['M29', 'tags=no_disk_io|tags=git_access', ['WorkerA', 'WorkerA2', 'WorkerB']],
    ['M30', 'tags=no_disk_io&tags=git_access', ['WorkerA']],
    ['M31', 'tags!=no_disk_io', ['WorkerA2', 'WorkerC']],
    ['M32', 'tags!=no_disk_io,git_access', ['WorkerC']],
    ['M33', 'tags=unknown_tag', []],
    ['M34', 'tags!=unknown_tag', ALL],
    ['M35', 'queue_namespace=pipeline_processing', ['WorkerA', 'WorkerA2']],
    ['M36', 'queue_namespace=pipeline_processing,authorized_project_update', ['WorkerA', 'WorkerA2', 'WorkerB']],
    ['M37', 'queue_namespace=pipeline_processing|queue_namespace=authorized_project_update', ['WorkerA', 'WorkerA2', 'WorkerB']],
    ['M38', 'queue_namespace=cronjob', ['WorkerC']],
    ['M39', 'queue_namespace!=cronjob', ['WorkerA', 'WorkerA2', 'WorkerB']],
    ['M40', 'feature_category=category_a&urgency=high', ['WorkerA2']],
    ['M41', 'feature_category=category_a&urgency=high|feature_category=category_c', ['WorkerA2', 'WorkerC']],
    ['M42', '*', ALL],
  ])('%s: %s selects %j', (_id, query, expected) => {
    // Prepare / Act
    const compiled = compileQuery(query);
    const selected = selectedNames(CATALOG_M, (w) => compiled.matches(w));

    // Assess: well-formed spec queries are evaluated without any quirk to report.
    expect(selected).toEqual(expected);
    expect(compiled.quirks).toEqual([]);
    expect(compiled.source).toBe(query);
  });
});

describe('worker matching query: rejected inputs', () => {
  // Messages begin with GitLab's word for word: `Invalid term: <term as written>`, `Unknown predicate: <attr>`.
  it.each<[string, string, typeof InvalidTermError | typeof UnknownPredicateError, string]>([
    ['MI1', 'feature_category="category_a"', InvalidTermError, 'Invalid term: feature_category="category_a"'],
    ['MI2', 'feature_category=', InvalidTermError, 'Invalid term: feature_category='],
    ['MI3', 'feature_category~category_a', InvalidTermError, 'Invalid term: feature_category~category_a'],
    ['MI4', 'invalid_term=a', UnknownPredicateError, 'Unknown predicate: invalid_term'],
    ['doubled =', 'feature_category==a', InvalidTermError, 'Invalid term: feature_category==a'],
    ['= then !', 'feature_category=!a', InvalidTermError, 'Invalid term: feature_category=!a'],
    ['leading !', '!urgency=high', InvalidTermError, 'Invalid term: !urgency=high'],
    ['!==', 'urgency!==high', InvalidTermError, 'Invalid term: urgency!==high'],
    ['parentheses', '(urgency=high)', InvalidTermError, 'Invalid term: (urgency=high)'],
    ['* inside a larger query', '*|urgency=high', InvalidTermError, 'Invalid term: *'],
    // GitLab's message, then what it leaves unseen: an empty term, spaces around one.
    ['empty leading term', '&urgency=high', InvalidTermError, 'Invalid term:  (an empty term: "&" or "|" with nothing on one side of it)'],
    ['a term of spaces', '   ', InvalidTermError, 'Invalid term:     (a term of spaces only: "   ")'],
    ['space after |', 'urgency=high | urgency=low', InvalidTermError, 'Invalid term:  urgency=low (the term is " urgency=low": spaces count, so write "a=b|c=d" without spaces around "|" and "&")'],
    ['empty tag list', 'tags=', InvalidTermError, 'Invalid term: tags='],
    ['two stars', '**', InvalidTermError, 'Invalid term: **'],
    ['star, space, star', '* *', InvalidTermError, 'Invalid term: * *'],
    ['upper-case attribute', 'URGENCY=high', UnknownPredicateError, 'Unknown predicate: URGENCY'],
    ['capitalised attribute', 'Urgency=high', UnknownPredicateError, 'Unknown predicate: Urgency'],
    ['weight is not queryable', 'weight=1', UnknownPredicateError, 'Unknown predicate: weight'],
    ['idempotent is not queryable', 'idempotent=true', UnknownPredicateError, 'Unknown predicate: idempotent'],
    ['pre-urgency attribute', 'latency_sensitive=true', UnknownPredicateError, 'Unknown predicate: latency_sensitive'],
    ['a prototype key is no predicate', 'constructor=a', UnknownPredicateError, 'Unknown predicate: constructor'],
    ['first line decides', 'a=b\nurgency=high', UnknownPredicateError, 'Unknown predicate: a'],
  ])('%s: %j is refused', (_label, query, errorClass, message) => {
    // Act
    const act = () => compileQuery(query);

    // Assess: refused when compiled, with GitLab's class and message.
    expect(act).toThrow(errorClass);
    expect(act).toThrow(message);
    try {
      act();
    } catch (error) {
      expect(error).toBeInstanceOf(QueryError);
      expect(error).toBeInstanceOf(InputError);
      expect((error as Error).message).toBe(message);
    }
  });

  it.each<[string, typeof InvalidTermError | typeof UnknownPredicateError, string]>([
    ['invalid_term=a&feature_category=', UnknownPredicateError, 'Unknown predicate: invalid_term'],
    ['feature_category=&invalid_term=a', InvalidTermError, 'Invalid term: feature_category='],
    ['urgency=high|invalid_term=a&feature_category=', UnknownPredicateError, 'Unknown predicate: invalid_term'],
    ['urgency=high|feature_category=|invalid_term=a', InvalidTermError, 'Invalid term: feature_category='],
  ])('terms are compiled left to right; the first bad one decides: %j', (query, errorClass, message) => {
    // Act / Assess
    expect(() => compileQuery(query)).toThrow(errorClass);
    expect(() => compileQuery(query)).toThrow(message);
  });

  it('keeps the offending term and predicate on the error', () => {
    // Act
    const caught = (query: string): unknown => {
      try {
        compileQuery(query);
      } catch (error) {
        return error;
      }
      return undefined;
    };

    // Assess
    expect(caught('urgency=high&tags=')).toMatchObject({ term: 'tags=' });
    expect(caught('urgency=high&weight=1')).toMatchObject({ predicate: 'weight' });
  });
});

describe('worker matching query: accepted-but-surprising inputs (GitLab evaluation + reported quirk)', () => {
  it.each<[string, string, (string | null)[], QueryQuirk['code'][], boolean]>([
    ['the empty query matches nothing', '', [], ['empty-query'], false],
    ['a leading | adds an always-true alternative', '|urgency=high', ALL, ['empty-branch'], true],
    ['an empty middle alternative is always true', 'urgency=high||urgency=low', ALL, ['empty-branch'], true],
    ['a lone & is an AND over no terms: always true', '&', ALL, ['empty-branch'], true],
    ['a lone | has no alternative at all: matches nothing', '|', [], ['trailing-separator'], false],
    ['a trailing | is dropped', 'urgency=high|', ['WorkerA2', 'WorkerB'], ['trailing-separator'], false],
    ['a trailing & is dropped', 'urgency=high&', ['WorkerA2', 'WorkerB'], ['trailing-separator'], false],
    ['a trailing , is dropped', 'urgency=high,', ['WorkerA2', 'WorkerB'], ['trailing-separator'], false],
    ['text after a space is ignored', 'feature_category=category_a b', ['WorkerA', 'WorkerA2'], ['trailing-junk'], false],
    ['a hyphen ends the value', 'name=cronjob:worker_c-x', ['WorkerC'], ['trailing-junk'], false],
    ['a trailing ! is ignored', 'urgency=high!', ['WorkerA2', 'WorkerB'], ['trailing-junk'], false],
    ['a space before | is junk of the first term', 'urgency=high |urgency=low', ['WorkerA', 'WorkerA2', 'WorkerB'], ['trailing-junk'], false],
    ['a later line is read when the first does not match', 'foo\nurgency=high', ['WorkerA2', 'WorkerB'], ['later-line'], false],
    ['an empty list item is a value no worker has', 'urgency=,high', ['WorkerA2', 'WorkerB'], ['empty-value'], false],
  ])('%s: %j', (_label, query, expected, quirkCodes, universal) => {
    // Act
    const compiled = compileQuery(query);

    // Assess
    expect(selectedNames(CATALOG_M, (w) => compiled.matches(w))).toEqual(expected);
    expect(compiled.quirks.map((q) => q.code)).toEqual(quirkCodes);
    expect(compiled.universal).toBe(universal);
    for (const quirk of compiled.quirks) expect(quirk.message).not.toBe('');
  });

  it('reads `feature_category=add-on_provisioning` as `feature_category=add` (the EE category cannot be selected)', () => {
    // Prepare
    const addOn = workerMetadata({ workerName: 'AddOnWorker', name: 'add_on', featureCategory: 'add-on_provisioning' });
    const add = workerMetadata({ workerName: 'AddWorker', name: 'add', featureCategory: 'add' });

    // Act
    const compiled = compileQuery('feature_category=add-on_provisioning');

    // Assess
    expect(selectedNames([addOn, add], (w) => compiled.matches(w))).toEqual(['AddWorker']);
    expect(compiled.quirks.map((q) => q.code)).toEqual(['trailing-junk']);
  });

  it('ends a value at the first non-ASCII letter: `urgency=hígh` means `urgency=h`', () => {
    // Prepare
    const h = workerMetadata({ workerName: 'HWorker', name: 'h', urgency: 'h' });

    // Act
    const compiled = compileQuery('urgency=hígh');

    // Assess
    expect(selectedNames([...CATALOG_M, h], (w) => compiled.matches(w))).toEqual(['HWorker']);
    expect(compiled.quirks.map((q) => q.code)).toEqual(['trailing-junk']);
  });

  it('reports every quirk of a query, in order', () => {
    // Act
    const compiled = compileQuery('urgency=high b|tags=,x,');

    // Assess
    expect(compiled.quirks.map((q) => q.code)).toEqual(['trailing-junk', 'trailing-separator', 'empty-value']);
  });

  // What lint prints and --strict refuses with: the words name the part GitLab ignores or reads.
  it.each<[string, string[]]>([
    ['', ['The query is empty: it matches no worker.']],
    ['urgency=high|', ['The trailing "|" of "urgency=high|" is ignored.']],
    // The & belongs to its alternative: that is what is named.
    ['urgency=high&|urgency=low', ['The trailing "&" of "urgency=high&" is ignored.']],
    ['urgency=high,', ['The trailing "," of "urgency=high," is ignored.']],
    ['urgency=high||urgency=low', ['"urgency=high||urgency=low" has an empty alternative between "|" separators: it matches every worker.']],
    ['foo\nbar\nurgency=high', ['The term "foo\\nbar\\nurgency=high" is read from its line 3 as "urgency=high"; the lines before it are ignored.']],
    // A later line is junk too: only the first line that matches is read.
    ['urgency=high\nfoo', ['The term "urgency=high\\nfoo" is read as "urgency=high": GitLab ignores what follows the first character that is not a letter, digit, "_", ":" or ",".']],
    ['urgency=,high', ['"urgency=,high" lists an empty value, which no worker has.']],
    ['has_external_dependencies=1', ['"has_external_dependencies=1": GitLab takes every value but "true" for false ("1"), so it stands for the workers without external dependencies.']],
    ['has_external_dependencies=TRUE,yes', ['"has_external_dependencies=TRUE,yes": GitLab takes every value but "true" for false ("TRUE", "yes"), so they stand for the workers without external dependencies.']],
    // `true` and `false` mean what they say, and an empty value is its own quirk.
    ['has_external_dependencies=true,false', []],
    ['has_external_dependencies=,true', ['"has_external_dependencies=,true" lists an empty value, which no worker has.']],
    // Only has_external_dependencies reads its values as booleans.
    ['tags=TRUE', []],
  ])('says what GitLab does with %j', (query, messages) => {
    expect(compileQuery(query).quirks.map((q) => q.message)).toEqual(messages);
  });
});

describe('worker matching query: the wildcard', () => {
  it.each(['*', ' *', '* ', '  *  ', '\t*\n', '\n*\r\n', '\v\f* ', '\0*', ' \0*\0 '])('%j matches every worker, placeholders included', (query) => {
    // Act
    const compiled = compileQuery(query);

    // Assess
    expect(selectedNames([...CATALOG_M, DEFAULT_PLACEHOLDER, MAILERS_PLACEHOLDER], (w) => compiled.matches(w))).toEqual([
      ...ALL,
      null,
      'ActionMailer::MailDeliveryJob',
    ]);
    expect(compiled.universal).toBe(true);
    expect(compiled.quirks).toEqual([]);
  });
});

describe('worker matching query: comparisons', () => {
  it.each<[string, string[]]>([
    ['urgency=HIGH', []],
    ['urgency=High', []],
    ['worker_name=workera', []],
    ['feature_category=CATEGORY_A', []],
    ['name=CRONJOB:WORKER_C', []],
    ['urgency!=HIGH', ALL],
  ])('values are case-sensitive: %j selects %j', (query, expected) => {
    expect(selectFromM(query)).toEqual(expected);
  });

  it.each<[string, string[]]>([
    ['has_external_dependencies=true', ['WorkerB']],
    ['has_external_dependencies=false', ['WorkerA', 'WorkerA2', 'WorkerC']],
    ['has_external_dependencies=TRUE', ['WorkerA', 'WorkerA2', 'WorkerC']],
    ['has_external_dependencies=True', ['WorkerA', 'WorkerA2', 'WorkerC']],
    ['has_external_dependencies=yes', ['WorkerA', 'WorkerA2', 'WorkerC']],
    ['has_external_dependencies=1', ['WorkerA', 'WorkerA2', 'WorkerC']],
    ['has_external_dependencies=0', ['WorkerA', 'WorkerA2', 'WorkerC']],
    ['has_external_dependencies!=false', ['WorkerB']],
    ['has_external_dependencies!=yes', ['WorkerB']],
    ['has_external_dependencies=yes,true', ALL],
  ])('has_external_dependencies: only the exact string "true" is true: %j selects %j', (query, expected) => {
    expect(selectFromM(query)).toEqual(expected);
  });

  it('`name` is the generated (namespace-prefixed) name, not the bare class-derived name', () => {
    expect(selectFromM('name=worker_c')).toEqual([]);
    expect(selectFromM('name=cronjob:worker_c')).toEqual(['WorkerC']);
  });

  it('`worker_name` compares the full class name, `::` included', () => {
    // Prepare
    const namespaced = workerMetadata({ workerName: 'Ci::BuildFinishedWorker', name: 'pipeline_processing:ci_build_finished' });

    // Act
    const compiled = compileQuery('worker_name=Ci::BuildFinishedWorker');

    // Assess
    expect(compiled.matches(namespaced)).toBe(true);
    expect(compileQuery('worker_name=BuildFinishedWorker').matches(namespaced)).toBe(false);
  });

  it('a non-namespaced worker (queue_namespace nil) is selected by queue_namespace!=… but never by queue_namespace=…', () => {
    // Prepare
    const plain = workerMetadata({ workerName: 'PlainWorker', name: 'plain' });

    // Act / Assess
    expect(compileQuery('queue_namespace!=cronjob').matches(plain)).toBe(true);
    expect(compileQuery('queue_namespace=cronjob').matches(plain)).toBe(false);
  });
});

describe('worker matching query: nil attributes are the empty set', () => {
  // The `default` placeholder: worker_name, has_external_dependencies, urgency, resource_boundary
  // and queue_namespace are all nil; only feature_category (:not_owned) is set.
  it.each<[string, boolean]>([
    ['worker_name=default', false],
    ['worker_name!=AnyWorker', true],
    ['has_external_dependencies=true', false],
    ['has_external_dependencies=false', false],
    ['has_external_dependencies!=true', true],
    ['has_external_dependencies!=false', true],
    ['urgency=high,low,throttled', false],
    ['urgency!=high,low,throttled', true],
    ['resource_boundary=cpu,memory,unknown', false],
    ['resource_boundary!=cpu,memory,unknown', true],
    ['queue_namespace=cronjob', false],
    ['queue_namespace!=cronjob', true],
    ['tags=cronjob_child', false],
    ['tags!=cronjob_child', true],
    ['name=default', true],
    ['feature_category=not_owned', true],
  ])('default placeholder: %j → %s', (query, expected) => {
    expect(compileQuery(query).matches(DEFAULT_PLACEHOLDER)).toBe(expected);
  });

  it('the `mailers` placeholder stores the String "low", which urgency=low (a Symbol comparison) does not select', () => {
    // Act / Assess
    expect(compileQuery('urgency=low').matches(MAILERS_PLACEHOLDER)).toBe(false);
    expect(compileQuery('urgency!=low').matches(MAILERS_PLACEHOLDER)).toBe(true);
    expect(compileQuery('name=mailers').matches(MAILERS_PLACEHOLDER)).toBe(true);
    expect(compileQuery('worker_name=ActionMailer::MailDeliveryJob').matches(MAILERS_PLACEHOLDER)).toBe(true);
  });

  it('the same holds for the `mailers` entry as loaded from CE all_queues.yml', () => {
    // Prepare
    const mailers = loadCatalog([CE_CATALOG_PATH]).workers.find((w) => w.name === 'mailers')!;

    // Act / Assess
    expect(mailers.urgency).toBe('low');
    expect(compileQuery('urgency=low').matches(mailers)).toBe(false);
    expect(compileQuery('urgency!=high').matches(mailers)).toBe(true);
  });
});
