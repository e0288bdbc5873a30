import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { buildProgram } from '../../../cli/main.js';
import { realTime } from '../../../cli/cli-context.js';
import { bufferIo } from '../../support/buffer-io.js';
import { repoPath } from '../../support/paths.js';

/**
 * The `sidekiq-migrate` command lines a block runs, each as the argument vector bash gives it
 * (after the fixture's env.sh: "${CATALOG[@]}", "${DEPLOYED[@]}", "$REDIS" expanded), without
 * running anything else: `sidekiq-migrate` is a recorder, and so is every other command the
 * blocks not run call (gitlab-ctl, helm, npx, aws). For the blocks that need AWS or GitLab.
 */
export function recordedCommands(code: string, fixture: string): string[][] {
  const dir = mkdtempSync(join(tmpdir(), `runbook-commands-${fixture}-`));
  try {
    cpSync(repoPath(`test/fixtures/runbooks/${fixture}`), dir, { recursive: true });
    const bin = join(dir, '.bin');
    mkdirSync(bin);
    const record = join(dir, 'commands.txt');
    writeFileSync(join(bin, 'sidekiq-migrate'), `#!/usr/bin/env bash\nprintf '%s\\0' "$#" "$@" >> ${JSON.stringify(record)}\n`);
    chmodSync(join(bin, 'sidekiq-migrate'), 0o755);
    for (const other of ['sudo', 'gitlab-ctl', 'helm', 'kubectl', 'npx', 'aws']) {
      writeFileSync(join(bin, other), '#!/usr/bin/env bash\nexit 0\n');
      chmodSync(join(bin, other), 0o755);
    }
    // A loop over the runs to roll back needs one.
    writeFileSync(join(dir, 'runs.txt'), 'reroute-20261123-204512-3f9a\n');
    writeFileSync(record, '');
    const result = spawnSync('bash', ['-c', `source ./env.sh\n${code}\n`], {
      cwd: dir,
      env: { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}`, RUNBOOK_REDIS_URL: 'redis://127.0.0.1:6390', RUNBOOK_OLD_REDIS_URL: 'redis://127.0.0.1:6391', RUNBOOK_NEW_REDIS_URL: 'redis://127.0.0.1:6392', RUNBOOK_MAIN_REDIS_URL: 'redis://127.0.0.1:6393', RUNBOOK_SHARD_REDIS_URL: 'redis://127.0.0.1:6394' },
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(`bash failed (${result.status}): ${result.stderr}`);
    const words = readFileSync(record, 'utf8').split('\0');
    const commands: string[][] = [];
    for (let i = 0; i < words.length - 1; ) {
      const n = Number(words[i]);
      commands.push(words.slice(i + 1, i + 1 + n));
      i += 1 + n;
    }
    return commands;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Whether the CLI takes these arguments: its own parser (every option known, every value given,
 * the command's arguments there), with every command's action left out. Null when it does, else
 * what it printed.
 */
export async function cliParseError(args: readonly string[]): Promise<string | null> {
  const io = bufferIo();
  const program = buildProgram({ io, exitCode: 0, handlersFor: () => { throw new Error('not run'); }, ...realTime });
  for (const command of program.commands) command.action(() => undefined);
  try {
    await program.parseAsync(['node', 'sidekiq-migrate', ...args]);
    return null;
  } catch (error) {
    if (error instanceof CommanderError) return io.stderr() || error.message;
    throw error;
  }
}
