import { spawn } from 'node:child_process';
import { cliBin } from './cli-child.js';
import { repoPath } from './paths.js';

/** The CLI from its sources, SIGKILLed before the first command `command` whose arguments match each of `args` (kill-at-command.mjs). */
export function cliKilledAtCommand(command: string, args: readonly string[], ...cliArgs: string[]): Promise<{ signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', repoPath('test/support/kill-at-command.mjs'), cliBin, ...cliArgs], {
      env: { ...process.env, SIDEKIQ_MIGRATE_FROM_SOURCE: '1', NO_COLOR: '1', KILL_AT_COMMAND: command, KILL_AT_ARGS: args.join(' '), KILL_AT_NTH: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (_, signal) => resolve({ signal, stderr }));
  });
}
