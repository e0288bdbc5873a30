import { describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.js';
import { bufferIo } from '../../support/buffer-io.js';
import { CE_CATALOG, EXAMPLE_RULES } from '../../support/paths.js';
import { tempFileWriter } from '../../support/temp-files.js';

const rulesFile = tempFileWriter('routes-cli-');
const run = async (...args: string[]) => {
  const io = bufferIo();
  const code = await main(['node', 'sidekiq-migrate', ...args], io);
  return { code, stdout: io.stdout(), stderr: io.stderr() };
};

describe('sidekiq-migrate routes', () => {
  it('--json prints one object mapping every real worker to its queue', async () => {
    const { code, stdout } = await run('routes', '--catalog', CE_CATALOG, '--rules', EXAMPLE_RULES, '--json');

    expect(code).toBe(0);
    const mapping = JSON.parse(stdout) as Record<string, string>;
    expect(Object.keys(mapping)).toHaveLength(567);
    expect(Object.keys(mapping)).toEqual([...Object.keys(mapping)].sort());
    expect(mapping).not.toHaveProperty('ActionMailer::MailDeliveryJob');
    // urgency high, resource_boundary unknown → first rule.
    expect(mapping['AuthorizedProjectUpdate::ProjectRecalculateWorker']).toBe('high-urgency');
    // feature_category gitaly, urgency throttled → second rule.
    expect(mapping['Projects::UpdateRepositoryStorageWorker']).toBe('throttled');
    expect(mapping['PostReceive']).toBe('default');
  });

  it('groups workers by destination with counts, then lists the queues to listen to', async () => {
    const { code, stdout, stderr } = await run('routes', '--catalog', CE_CATALOG, '--rules', EXAMPLE_RULES);

    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^567 workers from all_queues\.yml, 4 routing rule\(s\)/);
    expect(stdout).toMatch(/^default +455$/m);
    expect(stdout).toMatch(/^network-intensive +79$/m);
    expect(stdout).toMatch(/^high-urgency +29$/m);
    expect(stdout).toMatch(/^throttled +4$/m);
    expect(stdout).toContain('throttled (4)\n  Projects::ScheduleBulkRepositoryShardMovesWorker\n');
    expect(stdout).toContain('Sidekiq processes must listen to: default, high-urgency, mailers, network-intensive, throttled');
    expect(stdout).not.toContain('Warnings');
  });

  it('ends the human view with the lint warnings', async () => {
    const rules = rulesFile('lint.yml', "- ['urgency=high|', high]\n- ['feature_category=not_exist', nowhere]\n");

    const { code, stdout } = await run('routes', '--catalog', CE_CATALOG, '--rules', rules);

    expect(code).toBe(0);
    const warnings = stdout.slice(stdout.indexOf('Warnings ('));
    expect(warnings).toContain('The trailing "|" of "urgency=high|" is ignored.');
    expect(warnings).toContain('matches no worker of the catalog');
    expect(warnings).toContain('Queue "nowhere" (rule 2) receives no worker.');
    expect(warnings).toContain('sidekiq.routing_rules config is missing');
  });

  it('--json keeps stdout a single JSON document and sends warnings to stderr', async () => {
    const rules = rulesFile('quirk.json', '[["urgency=high|", "high"], ["*", "default"]]');

    const { code, stdout, stderr } = await run('routes', '--catalog', CE_CATALOG, '--rules', rules, '--json');

    expect(code).toBe(0);
    expect(Object.values(JSON.parse(stdout) as object)).toContain('high');
    expect(stderr).toMatch(/^warning: Rule 1 .*trailing "\|"/m);
  });

  it('reads the rules from a gitlab.yml', async () => {
    const gitlabYml = rulesFile(
      'gitlab.yml',
      'production: &base\n  sidekiq:\n    routing_rules:\n      - ["urgency=high", "urgent"]\n      - ["*", "default"]\ndevelopment:\n  <<: *base\n',
    );

    const { code, stdout } = await run('routes', '--catalog', CE_CATALOG, '--rules', gitlabYml, '--environment', 'development', '--json');

    expect(code).toBe(0);
    expect(new Set(Object.values(JSON.parse(stdout) as object))).toEqual(new Set(['urgent', 'default']));
  });

  it('--strict refuses a query GitLab would read differently from its author', async () => {
    const rules = rulesFile('junk.yml', "- ['name=a-b', x]\n- ['*', default]\n");

    const lenient = await run('routes', '--catalog', CE_CATALOG, '--rules', rules, '--json');
    const strict = await run('routes', '--catalog', CE_CATALOG, '--rules', rules, '--strict');

    expect(lenient.code).toBe(0);
    expect(strict.code).toBe(2);
    expect(strict.stdout).toBe('');
    expect(strict.stderr).toContain('"name=a-b" is read as "name=a"');
  });

  it.each([
    ['an invalid term', '[["urgency=high | urgency=low", "q"]]', 'Invalid term:  urgency=low', 'routing rule 1'],
    ['an unknown predicate', '[["urgency=high", "a"], ["weight=1", "b"]]', 'Unknown predicate: weight', 'routing rule 2'],
    ['a rule that is not a pair', '["feature_category=a"]', 'Routing rule `"feature_category=a"` is invalid', 'routing rule 1'],
    ['rules that are not a list', '{"feature_category=a": "q"}', 'expected a list of [query, queue] routing rules', 'rules'],
  ])('exits 2 on %s, with the message on stderr and nothing on stdout', async (_case, content, message, where) => {
    const rules = rulesFile(`bad-${where.replace(/\W/g, '')}.json`, content);

    const { code, stdout, stderr } = await run('routes', '--catalog', CE_CATALOG, '--rules', rules);

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.split('\n')[0]).toContain(message);
    expect(stderr).toContain(where);
  });

  // A syntax error in the catalog (thousands of lines) was named without its line, and only the
  // first of several: each took a run to find by hand. Now each says its line and column, as a
  // syntax error in a rules, mapping or configuration file does.
  it('names the line and column of every YAML error in the catalog, all at once; exit 2, nothing on stdout', async () => {
    const catalog = rulesFile('all_queues.yml', '- :name: a\n  :name: b\n  :worker_name: A\n- :name: c\n  :urgency: :low\n  :urgency: :high\n');

    const { code, stdout, stderr } = await run('routes', '--catalog', catalog, '--rules', EXAMPLE_RULES);

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(`${catalog}: not valid YAML (line 2, column 3): Map keys must be unique\n  1 more YAML error(s) in ${catalog}:\n  - line 6, column 3: Map keys must be unique\n`);
  });

  it('names the line of a catalog cut short', async () => {
    const catalog = rulesFile('cut.yml', '- :name: a\n  :x: [\n');

    const { code, stderr } = await run('routes', '--catalog', catalog, '--rules', EXAMPLE_RULES);

    expect(code).toBe(2);
    expect(stderr).toBe(`${catalog}: not valid YAML (line 3, column 1): Flow sequence in block collection must be sufficiently indented and end with a ]\n`);
  });

  it('reports every missing option at once', async () => {
    const { code, stdout, stderr } = await run('routes');

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('--catalog: required');
    expect(stderr).toContain('--rules: required');
  });

  it('names a missing catalog file', async () => {
    const { code, stderr } = await run('routes', '--catalog', '/nonexistent/all_queues.yml', '--rules', EXAMPLE_RULES);

    expect(code).toBe(2);
    expect(stderr).toBe('Cannot read the worker catalog /nonexistent/all_queues.yml: no such file\n');
  });

  it('names the entry and field of a malformed catalog', async () => {
    const catalog = rulesFile('bad-catalog.yml', '- :name: foo\n  :worker_name: FooWorker\n  :urgency: [1]\n');

    const { code, stderr } = await run('routes', '--catalog', catalog, '--rules', EXAMPLE_RULES);

    expect(code).toBe(2);
    expect(stderr).toContain('bad-catalog.yml entry 1 (name "foo"): :urgency: must be a single value');
  });
});
