import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../core/errors/input-error.js';
import { CatalogError } from '../../../core/routing/catalog/catalog-error.js';
import { loadCatalog, parseCatalogText } from '../../../core/routing/catalog/load-catalog.js';
import { realWorkers } from '../../../core/routing/catalog/worker-metadata.js';
import { sym } from '../../../core/routing/ruby-value.js';
import { CE_CATALOG_PATH } from './support/workers.js';

// Reading GitLab's all_queues.yml the way Psych does (gitlab-reference §2.1).

const tmp = mkdtempSync(join(tmpdir(), 'catalog-loader-'));
function writeCatalog(name: string, text: string): string {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
}

/** A catalog whose first entry is fine and whose second (`foo`) gets the given extra lines. */
const withSecondEntry = (lines: string): string =>
  `---\n- :name: ok\n  :worker_name: OkWorker\n- :name: foo\n  :worker_name: FooWorker\n${lines}\n`;

const parseOne = (entry: string) => parseCatalogText(`---\n${entry}`, 'test.yml').workers[0]!;

describe('catalog loader: the bundled CE catalog', () => {
  const catalog = loadCatalog([CE_CATALOG_PATH]);

  it('loads 569 entries, 2 of them placeholders, with no warning', () => {
    expect(catalog.workers).toHaveLength(569);
    expect(catalog.workers.filter((w) => w.placeholder).map((w) => w.name)).toEqual(['default', 'mailers']);
    expect(realWorkers(catalog)).toHaveLength(567);
    expect(catalog.warnings).toEqual([]);
    expect(catalog.files).toEqual([CE_CATALOG_PATH]);
  });

  it('reads the first entry with every attribute typed as Psych would', () => {
    expect(catalog.workers[0]).toEqual({
      name: 'activity_pub:activity_pub_projects_releases_subscription',
      workerName: 'ActivityPub::Projects::ReleasesSubscriptionWorker',
      featureCategory: sym('release_orchestration'),
      hasExternalDependencies: true,
      urgency: sym('low'),
      resourceBoundary: sym('unknown'),
      weight: 1,
      idempotent: true,
      tags: [],
      queueNamespace: sym('activity_pub'),
      placeholder: false,
      source: { file: CE_CATALOG_PATH, entry: 1 },
    });
  });

  it('reads the placeholders with their nils, and the mailers urgency as the String "low"', () => {
    // Prepare
    const byName = (name: string) => catalog.workers.find((w) => w.name === name)!;

    // Assess
    expect(byName('default')).toMatchObject({
      workerName: null,
      featureCategory: sym('not_owned'),
      hasExternalDependencies: null,
      urgency: null,
      resourceBoundary: null,
      weight: 1,
      idempotent: null,
      tags: [],
      queueNamespace: null,
      placeholder: true,
    });
    expect(byName('mailers')).toMatchObject({
      workerName: 'ActionMailer::MailDeliveryJob',
      urgency: 'low',
      weight: 2,
      placeholder: true,
    });
  });

  it('reads tag lists', () => {
    const tagged = catalog.workers.filter((w) => w.tags.length > 0);
    expect(tagged).toHaveLength(29);
    expect(tagged.flatMap((w) => w.tags)).toContainEqual(sym('cronjob_child'));
  });
});

describe('catalog loader: Ruby values', () => {
  it('reads a plain `:x` as a Symbol', () => {
    // Act
    const worker = parseOne(
      ['- :name: foo', '  :worker_name: FooWorker', '  :feature_category: :source_code_management', '  :urgency: :low', '  :tags: [:a, :b]'].join('\n'),
    );

    // Assess
    expect(worker.featureCategory).toEqual(sym('source_code_management'));
    expect(worker.urgency).toEqual(sym('low'));
    expect(worker.tags).toEqual([sym('a'), sym('b')]);
  });

  // A real worker's attributes are Symbols at run time, which GitLab's router matches: a String
  // (plain `x`, or quoted `":x"`) would match no query and route the worker otherwise than GitLab.
  it.each<[string, string]>([
    ['  :urgency: low', ':urgency: is the String "low", which no query matches: GitLab\'s router compares Symbols (its generated all_queues.yml writes :low); write :low'],
    ["  :resource_boundary: ':cpu'", ':resource_boundary: is the String ":cpu", which no query matches: GitLab\'s router compares Symbols (its generated all_queues.yml writes :cpu); write :cpu'],
    ['  :queue_namespace: ":cronjob"', ':queue_namespace: is the String ":cronjob", which no query matches: GitLab\'s router compares Symbols (its generated all_queues.yml writes :cronjob); write :cronjob'],
    ["  :tags: [:a, 'b']", ':tags: item 2 is the String "b", which no query matches: GitLab\'s router compares Symbols (its generated all_queues.yml writes :b); write :b'],
  ])('refuses a String for a real worker: %s', (line, problem) => {
    // Act
    const act = () => parseOne(['- :name: foo', '  :worker_name: FooWorker', line].join('\n'));

    // Assess
    expect(act).toThrow(CatalogError);
    expect(act).toThrow(`test.yml entry 1 (name "foo"): ${problem}`);
  });

  it('reads an empty value as nil and a missing key as nil', () => {
    // Act
    const worker = parseOne(
      ['- :name: foo', '  :worker_name: FooWorker', '  :urgency:', '  :has_external_dependencies:', '  :weight:', '  :tags:'].join('\n'),
    );

    // Assess
    expect(worker).toMatchObject({
      urgency: null,
      hasExternalDependencies: null,
      weight: null,
      tags: [],
      featureCategory: null,
      resourceBoundary: null,
      idempotent: null,
      queueNamespace: null,
    });
  });

  it('reads `:tags: []` as an empty list', () => {
    expect(parseOne('- :name: foo\n  :worker_name: FooWorker\n  :tags: []').tags).toEqual([]);
  });

  it('accepts hand-written keys without the leading colon', () => {
    // Act
    const worker = parseOne('- name: foo\n  worker_name: FooWorker\n  urgency: :high\n  tags: [:x]');

    // Assess
    expect(worker).toMatchObject({ name: 'foo', workerName: 'FooWorker', urgency: sym('high'), tags: [sym('x')] });
  });

  it('recognises a placeholder only by its name and class', () => {
    // Act
    const { workers } = parseCatalogText(
      [
        '- :name: default',
        '  :worker_name:',
        '- :name: mailers',
        '  :worker_name: ActionMailer::MailDeliveryJob',
        '- :name: default',
        '  :worker_name: DefaultWorker',
      ].join('\n'),
      'test.yml',
    );

    // Assess
    expect(workers.map((w) => w.placeholder)).toEqual([true, true, false]);
  });
});

describe('catalog loader: malformed catalogs', () => {
  it.each<[string, string, string]>([
    ['a list where a symbol belongs', '  :urgency: [1]', 'test.yml entry 2 (name "foo"): :urgency: must be a single value, got a list'],
    ['a number where a symbol belongs', '  :urgency: 1', 'test.yml entry 2 (name "foo"): :urgency: must be a symbol such as :low, got 1'],
    ['a boolean where a symbol belongs', '  :feature_category: true', 'test.yml entry 2 (name "foo"): :feature_category: must be a symbol such as :low, got true'],
    ['a mapping where a symbol belongs', '  :queue_namespace: {a: 1}', 'test.yml entry 2 (name "foo"): :queue_namespace: must be a single value, got a mapping'],
    ['a word where an integer belongs', '  :weight: abc', 'test.yml entry 2 (name "foo"): :weight: must be an integer or empty, got "abc"'],
    ['a float where an integer belongs', '  :weight: 1.5', 'test.yml entry 2 (name "foo"): :weight: must be an integer or empty, got 1.5'],
    [
      'a word where a boolean belongs',
      '  :has_external_dependencies: maybe',
      'test.yml entry 2 (name "foo"): :has_external_dependencies: must be true, false or empty, got "maybe"',
    ],
    ['a number where a boolean belongs', '  :idempotent: 1', 'test.yml entry 2 (name "foo"): :idempotent: must be true, false or empty, got 1'],
    ['a symbol where a tag list belongs', '  :tags: :a', 'test.yml entry 2 (name "foo"): :tags: must be a list such as [:cronjob_child] or [], got ":a"'],
    ['a list as a tag', '  :tags:\n  - [x]', 'test.yml entry 2 (name "foo"): :tags: item 1 must be a symbol, got a list'],
  ])('%s → CatalogError naming the file, entry, name and field', (_label, lines, message) => {
    // Act
    const act = () => parseCatalogText(withSecondEntry(lines), '/some/dir/test.yml');

    // Assess
    expect(act).toThrow(CatalogError);
    expect(act).toThrow(message);
  });

  it.each<[string, string, string]>([
    ['an entry without :name:', '- :worker_name: FooWorker', 'test.yml entry 1: :name: must be a non-empty string, got nothing'],
    ['an empty :name:', '- :name: ""\n  :worker_name: FooWorker', 'test.yml entry 1: :name: must be a non-empty string, got ""'],
    ['a numeric :name:', '- :name: 12\n  :worker_name: FooWorker', 'test.yml entry 1: :name: must be a non-empty string, got 12'],
    ['a worker without :worker_name:', '- :name: foo\n  :worker_name:', 'test.yml entry 1 (name "foo"): :worker_name: is missing'],
    ['a numeric :worker_name:', '- :name: foo\n  :worker_name: 3', 'test.yml entry 1 (name "foo"): :worker_name: must be a string or empty, got 3'],
    ['an entry that is not a mapping', '- 1', 'test.yml entry 1: must be a mapping of worker attributes, got 1'],
    ['a catalog that is not a list', 'a: 1', 'test.yml: a worker catalog is a YAML list of worker entries'],
    ['an empty catalog', '', 'test.yml: a worker catalog is a YAML list of worker entries'],
    ['invalid YAML', '- :name: [', 'test.yml: not valid YAML'],
    ['a key given twice', '- :name: a\n  :name: b', 'test.yml: not valid YAML'],
  ])('%s → CatalogError', (_label, text, message) => {
    expect(() => parseCatalogText(text, 'test.yml')).toThrow(CatalogError);
    expect(() => parseCatalogText(text, 'test.yml')).toThrow(message);
  });

  it('names the entry by its 1-based position in the file', () => {
    // Prepare
    const entries = Array.from({ length: 12 }, (_, i) => `- :name: w${i + 1}\n  :worker_name: W${i + 1}Worker`);
    entries[11] += '\n  :urgency: [x]';

    // Act / Assess
    expect(() => parseCatalogText(entries.join('\n'), 'big.yml')).toThrow('big.yml entry 12 (name "w12"): :urgency:');
  });

  it('a missing file is an input error naming the file', () => {
    // Act
    const act = () => loadCatalog([join(tmp, 'missing.yml')]);

    // Assess
    expect(act).toThrow(InputError);
    expect(act).toThrow(`Cannot read the worker catalog ${join(tmp, 'missing.yml')}: no such file`);
  });

  it('no file at all is a CatalogError', () => {
    expect(() => loadCatalog([])).toThrow(CatalogError);
    expect(() => loadCatalog([])).toThrow('No worker catalog given');
  });
});

describe('catalog loader: several files', () => {
  it('concatenates the workers of every file, in order', () => {
    // Prepare
    const a = writeCatalog('ce.yml', '- :name: a\n  :worker_name: AWorker');
    const b = writeCatalog('ee.yml', '- :name: b\n  :worker_name: BWorker');

    // Act
    const catalog = loadCatalog([a, b]);

    // Assess
    expect(catalog.workers.map((w) => [w.workerName, w.source])).toEqual([
      ['AWorker', { file: a, entry: 1 }],
      ['BWorker', { file: b, entry: 1 }],
    ]);
    expect(catalog.files).toEqual([a, b]);
  });

  it('refuses a class that appears in two files, naming both places', () => {
    // Prepare
    const a = writeCatalog('dup-ce.yml', '- :name: x\n  :worker_name: XWorker\n- :name: same\n  :worker_name: SameWorker');
    const b = writeCatalog('dup-ee.yml', '- :name: same\n  :worker_name: SameWorker');

    // Act
    const act = () => loadCatalog([a, b]);

    // Assess
    expect(act).toThrow(CatalogError);
    expect(act).toThrow('SameWorker appears twice: dup-ce.yml entry 2 and dup-ee.yml entry 1');
  });

  it('does not count the placeholders of two files as duplicates', () => {
    // Prepare
    const placeholders = '- :name: default\n  :worker_name:\n- :name: mailers\n  :worker_name: ActionMailer::MailDeliveryJob';
    const a = writeCatalog('ph-1.yml', placeholders);
    const b = writeCatalog('ph-2.yml', placeholders);

    // Act / Assess
    expect(loadCatalog([a, b]).workers).toHaveLength(4);
  });
});

describe('catalog loader: naming rule check', () => {
  it('warns when :name: disagrees with the generated name, and keeps the catalog\'s name', () => {
    // Act
    const { workers, warnings } = parseCatalogText(
      '- :name: wrong_name\n  :worker_name: Gitlab::JiraImport::AdvanceStageWorker\n  :queue_namespace: :jira_importer',
      'test.yml',
    );

    // Assess
    expect(workers[0]!.name).toBe('wrong_name');
    expect(warnings).toEqual([
      'test.yml entry 1 (name "wrong_name"): :name: is "wrong_name" but GitLab\'s naming rule gives "jira_importer:jira_import_advance_stage" for Gitlab::JiraImport::AdvanceStageWorker; using the catalog\'s name',
    ]);
  });

  it('does not warn for a matching name, nor for placeholders', () => {
    // Act
    const { warnings } = parseCatalogText(
      [
        '- :name: jira_importer:jira_import_advance_stage',
        '  :worker_name: Gitlab::JiraImport::AdvanceStageWorker',
        '  :queue_namespace: :jira_importer',
        '- :name: mailers',
        '  :worker_name: ActionMailer::MailDeliveryJob',
      ].join('\n'),
      'test.yml',
    );

    // Assess
    expect(warnings).toEqual([]);
  });

  it('passes the warnings of every file on through loadCatalog', () => {
    // Prepare
    const path = writeCatalog('warn.yml', '- :name: nope\n  :worker_name: PagesWorker');

    // Act
    const catalog = loadCatalog([path]);

    // Assess
    expect(catalog.warnings).toHaveLength(1);
    expect(catalog.warnings[0]).toContain('warn.yml entry 1 (name "nope"): :name: is "nope" but GitLab\'s naming rule gives "pages"');
  });
});
