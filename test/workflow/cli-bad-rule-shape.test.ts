// A routing rule that is not a list of two or three elements (a bare query string, a rule missing
// its queue): the CLI printed GitLab's own words, "Routing rule `"feature_category=a"` is invalid",
// and where, but not what a rule should be, so the operator had to look up the format. The words
// stay GitLab's; what a rule is follows on its own line. Exit 2, before connecting to anything.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnCli } from '../support/cli-child.js';
import { CE_CATALOG } from '../support/paths.js';
import { refusingEndpoint } from '../support/refusing-endpoint.js';
import { runCli } from '../support/run-cli.js';

describe('run with a routing rule of the wrong shape', () => {
  it.each([
    ['a bare query', '- feature_category=a\n', 'Routing rule `"feature_category=a"` is invalid'],
    ['a rule without its queue', '- [feature_category=a]\n', 'Routing rule `["feature_category=a"]` is invalid'],
  ])('%s: GitLab\'s words, where, and what a rule is; exit 2, nothing connected to', async (_case, content, words) => {
    const dir = mkdtempSync(join(tmpdir(), 'rule-shape-'));
    const rules = join(dir, 'rules.yml');
    writeFileSync(rules, `- [urgency=high, high]\n${content}`);
    const endpoint = await refusingEndpoint();
    try {
      const result = await runCli('run', '--redis', endpoint.url, '--catalog', CE_CATALOG, '--rules', rules);

      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(`${words}\n  (in routing rule 2 of ${rules})\n  (a rule is a list of two or three elements, [query, queue] or [query, queue, store], e.g. ["urgency=high", "high"])\n`);
      expect(endpoint.attempts()).toBe(0);
    } finally {
      await endpoint.close();
    }
  });

  // GitLab raises on the first invalid rule it compiles, and so did a run: a file with three
  // mistakes took three runs to learn of them. The first is said as before (GitLab's words, where,
  // what a rule is); the others follow, each with its position and GitLab's words.
  it('several invalid rules: every one named at once, the first as before; exit 2, nothing connected to', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rule-shape-'));
    const rules = join(dir, 'rules.yml');
    writeFileSync(rules, '- [urgency=high, high]\n- [feature_category=a]\n- [unknownattr=1, q]\n- [urgency=low, low]\n- ["feature_category=", x]\n');
    const endpoint = await refusingEndpoint();
    try {
      const result = await runCli('run', '--redis', endpoint.url, '--catalog', CE_CATALOG, '--rules', rules);

      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        'Routing rule `["feature_category=a"]` is invalid\n' +
          `  (in routing rule 2 of ${rules})\n` +
          '  (a rule is a list of two or three elements, [query, queue] or [query, queue, store], e.g. ["urgency=high", "high"])\n' +
          `  2 more invalid rule(s) in ${rules}:\n` +
          '  - routing rule 3: Unknown predicate: unknownattr\n' +
          '  - routing rule 5: Invalid term: feature_category=\n',
      );
      expect(endpoint.attempts()).toBe(0);
    } finally {
      await endpoint.close();
    }
  });

  // The worker catalog given as the rules (two files swapped on the command line): the message was
  // right, but Node's own warning followed it, `(node:PID) Warning: Keys with collection values
  // will be stringified due to JS Object restrictions … Set mapAsMap: true …`, from the YAML
  // library reading the file a second time as GitLab's YAML 1.1 would, advice about code the user
  // cannot change.
  it('the catalog given as the rules: our message alone (its first rule, and that every rule is invalid), no warning of Node or of the YAML library; exit 2', async () => {
    const result = await spawnCli('routes', '--catalog', CE_CATALOG, '--rules', CE_CATALOG);

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^Routing rule `\{":name" => "activity_pub:activity_pub_projects_releases_subscription", .*` is invalid\n {2}\(in routing rule 1 of \S+all_queues\.yml\)\n {2}\(a rule is a list of two or three elements, \[query, queue\] or \[query, queue, store\], e\.g\. \["urgency=high", "high"\]\)\n {2}All \d+ rules of \S+all_queues\.yml are invalid: is it the routing rules file\?\n$/);
    expect(result.stderr).not.toContain('Warning');
    expect(result.stderr).not.toContain('(node:');
  });
});
