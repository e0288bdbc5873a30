import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoPath } from '../../support/paths.js';

export interface BlockResult {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * A directory to follow a runbook in, as the operator would: the fixture's files copied in, and
 * `bin/sidekiq-migrate` on PATH running this checkout's CLI (the runbooks call it by that name).
 */
export function prepareWorkDir(dir: string): { bin: string } {
  const bin = join(dir, '.bin');
  mkdirSync(bin, { recursive: true });
  const wrapper = join(bin, 'sidekiq-migrate');
  writeFileSync(wrapper, `#!/usr/bin/env bash\nexec node ${JSON.stringify(repoPath('bin/sidekiq-migrate.js'))} "$@"\n`);
  chmodSync(wrapper, 0o755);
  return { bin };
}

/**
 * Runs one block with bash in `dir`, after sourcing `envFile` (the fixture's values for the
 * runbook's placeholders), stopping at the first failing command (`set -e`, `pipefail`), so that
 * a block passes only if every command in it does what the runbook says.
 */
export function runShellBlock(code: string, options: { dir: string; envFile: string; bin: string; env: Record<string, string>; timeoutMs?: number }): Promise<BlockResult> {
  const script = `set -eo pipefail\nsource ${JSON.stringify(options.envFile)}\n${code}\n`;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], {
      cwd: options.dir,
      env: { ...process.env, ...options.env, PATH: `${options.bin}:${process.env['PATH'] ?? ''}`, NO_COLOR: '1', LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.once('error', reject);
    // 'close', not 'exit': 'exit' may come before the pipes are read to their end, and a block's
    // last words (`… || echo "exit code $?"`) were then missing from stdout (once, in a full CI).
    child.once('close', (exitCode) => {
      clearTimeout(timer);
      resolve({ exitCode, stdout, stderr });
    });
  });
}
