import { describe, expect, it } from 'vitest';
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
