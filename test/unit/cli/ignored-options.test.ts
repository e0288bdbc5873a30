import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoPath } from '../../support/paths.js';

// The compiled executable, as `npx sidekiq-migrate` runs it, without AWS credentials or region
// files: a command that got past its options would say what AWS said (or start an execution).
function run(...args: string[]) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  const home = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-home-'));
  return spawnSync(process.execPath, [repoPath('bin/sidekiq-migrate.js'), ...args, '--region', 'us-east-1'], { encoding: 'utf8', cwd: '/', env: { ...env, HOME: home } });
}

describe('an option given where it does nothing', () => {
  // `start --interval 30` or `start --verbose` without --watch started the execution and returned:
  // the option was silently ignored (nothing is polled nor summarised without --watch).
  it.each([
    [['start', '--rename', 'a=b', '--interval', '30'], '--interval: only applies with --watch (seconds between its polls): add --watch, or leave --interval out'],
    [['start', '--rename', 'a=b', '--verbose'], '--verbose: only applies with --watch (the summary it prints at the end): add --watch, or leave --verbose out'],
    // `stop --no-wait` returns once the stop requests are sent: it polls nothing.
    [['stop', 'reroute-1', '--no-wait', '--interval', '2'], '--interval: only applies while stop waits for the executions to end: not with --no-wait'],
  ])('%j: refused, exit 2, before anything is asked of AWS', (args, message) => {
    const result = run(...args);

    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`${message}\n`);
    expect(result.status).toBe(2);
  });

  it('both at once, with another problem of the options: one message', () => {
    const result = run('start', '--rename', 'a=b', '--interval', '30', '--verbose', '--mode', 'transfer', '--rewrite-cron');

    expect(result.stderr).toBe(
      'Invalid options:\n  - --rewrite-cron: only a re-route (not a rollback) rewrites cron definitions; a transfer copies them with --cron\n  - --interval: only applies with --watch (seconds between its polls): add --watch, or leave --interval out\n  - --verbose: only applies with --watch (the summary it prints at the end): add --watch, or leave --verbose out\n',
    );
    expect(result.status).toBe(2);
  });

  // Checked that the shape of --resume / --run-id comes first: the stack's outputs are not read
  // (no "Reading the outputs of stack …" from AWS) for a word no execution can be named.
  it.each([
    [['start', '--rename', 'a=b', '--resume', 'my run'], '--resume: use 1–70 letters, digits, "_" or "-" (it names the Step Functions execution)'],
    [['start', '--rename', 'a=b', '--run-id', 'a.b'], '--run-id: use 1–70 letters, digits, "_" or "-" (it names the Step Functions execution)'],
  ])('%j: the run id\'s shape refused before any AWS call', (args, message) => {
    const result = run(...args);

    expect(result.stderr).toBe(`${message}\n`);
    expect(result.status).toBe(2);
  });
});
