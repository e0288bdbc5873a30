// A routing rule that is not a list of two or three elements (a bare query string, a rule missing
// its queue): the CLI printed GitLab's own words, "Routing rule `"feature_category=a"` is invalid",
// and where, but not what a rule should be, so the operator had to look up the format. The words
// stay GitLab's; what a rule is follows on its own line. Exit 2, before connecting to anything.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
});
