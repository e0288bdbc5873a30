import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/run-cli.js';

// A setting of the file's top level written inside a section (`routing: {strict: true}`) was
// told "routing.strict: unknown key (did you mean "strict"?)": the key it was told to write is
// the one it wrote. The suggestion now says where the key goes. Refused before anything connects
// (the URL leads nowhere: nothing is tried), exit 2.
const dir = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-key-elsewhere-'));

describe('a top-level key written inside a section of the configuration file', () => {
  it('routing.strict and aws.namespace: the suggestion says they belong at the top level', async () => {
    const config = join(dir, 'c.yml');
    writeFileSync(config, 'routing:\n  rename: [a=b]\n  strict: true\naws:\n  namespace: "resque:gitlab:"\n');

    const result = await runCli('--config', config, 'run', '--redis', 'redis://127.0.0.1:43497');

    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'Invalid options:\n' +
        `  - ${config}: routing.strict: unknown key (did you mean "strict" at the top level of the file?)\n` +
        `  - ${config}: aws.namespace: unknown key (did you mean "namespace" at the top level of the file?)\n`,
    });
  });
});
