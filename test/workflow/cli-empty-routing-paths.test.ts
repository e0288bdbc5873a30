import { describe, expect, it } from 'vitest';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { repoPath } from '../support/paths.js';
import { refusedUntouched } from '../support/refused-untouched.js';
import { runCli } from '../support/run-cli.js';

// `--catalog '' --rules ''` (a variable unset in a script: `--catalog "$CATALOG"`) was answered
// in zod's words, "--catalog: Too small: expected string to have >=1 characters", which names
// neither what is missing nor what to give. Both are named now, in the words `routes` uses, in
// one message (exit 2), before anything connects (the URL leads nowhere: nothing is tried).
const NOWHERE = 'redis://127.0.0.1:43499';

describe('empty routing paths: each named, in words, in one message', () => {
  it('run: --catalog and --rules both empty', async () => {
    const result = await runCli('run', '--redis', NOWHERE, '--catalog', '', '--rules', '');

    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: 'Invalid options:\n  - --catalog: a catalog path cannot be empty\n  - --rules: a rules path cannot be empty\n',
    });
  });

  it('move and drain-check: --mapping, --environment and --tls-ca empty too', async () => {
    const moved = await runCli('move', '--from', NOWHERE, '--to', 'redis://127.0.0.1:43498', '--mapping', '', '--tls-ca', '');
    const checked = await runCli('drain-check', '--redis', NOWHERE, '--classes', 'A', '--catalog', '', '--rules', '', '--environment', '');

    expect(moved).toEqual({ code: 2, stdout: '', stderr: 'Invalid options:\n  - --mapping: a mapping path cannot be empty\n  - --tls-ca: a PEM file of CA certificates, not empty\n' });
    expect(checked).toEqual({
      code: 2,
      stdout: '',
      stderr: 'Invalid options:\n  - --catalog: a catalog path cannot be empty\n  - --rules: a rules path cannot be empty\n  - --environment: a gitlab.yml section (e.g. production) cannot be empty\n',
    });
  });
});

// The last of zod's words for an empty value (`--save "$REPORT"` with the variable unset): drain-
// check's --previous and --save, `routes --environment ''`. Each named, in words, exit 2, before
// anything connects.
describe('empty drain report paths and gitlab.yml section: named in words', { timeout: 120_000 }, () => {
  const redis = privateSourceAndTarget();

  it("drain-check --previous '' --save '': both named, nothing touched", async () => {
    const { stderr } = await refusedUntouched(redis, () => runCli('drain-check', '--redis', redis.urls().source, '--previous', '', '--save', ''));

    expect(stderr).toBe('Invalid options:\n  - --previous: a path, not empty (the JSON report --save wrote last time)\n  - --save: a path, not empty (where to write this check as JSON)\n');
  });

  it("routes --environment ''", async () => {
    const result = await runCli('routes', '--catalog', repoPath('test/fixtures/gitlab/all_queues.yml'), '--rules', repoPath('test/fixtures/routing/docs-migration-example.yml'), '--environment', '');

    expect(result).toEqual({ code: 2, stdout: '', stderr: '--environment: a gitlab.yml section (e.g. production) cannot be empty\n' });
  });
});
