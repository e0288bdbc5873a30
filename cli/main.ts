import { Command, CommanderError } from 'commander';
import { InputError, inputErrorText } from '../core/errors/input-error.js';
import { SidekiqMigrateError } from '../core/errors/sidekiq-migrate-error.js';
import { realTime, type CliContext } from './cli-context.js';
import { processIo, type CliIo } from './cli-io.js';
import { registerDemoCommand } from './commands/demo-command.js';
import { registerDrainCheckCommand } from './commands/drain-check-command.js';
import { registerListCommand } from './commands/list-command.js';
import { registerMatchCommand } from './commands/match-command.js';
import { registerMoveCommand } from './commands/move-command.js';
import { registerRollbackCommand } from './commands/rollback-command.js';
import { registerRoutesCommand } from './commands/routes-command.js';
import { registerRunCommand } from './commands/run-command.js';
import { registerStartCommand } from './commands/start-command.js';
import { registerStatusCommand } from './commands/status-command.js';
import { registerStopCommand } from './commands/stop-command.js';
import { registerWatchCommand } from './commands/watch-command.js';
import { ExitCode } from './exit-codes.js';
import { registerHelpCommand } from './help-command.js';
import { recordGivenOptions, refuseRepeatedOptions } from './repeated-options.js';
import { OutageWatch } from './workflow/outage-watch.js';
import { localTaskHandlers } from './workflow/task-handlers.js';

/** Builds the `sidekiq-migrate` program; every command writes through `ctx.io`. */
export function buildProgram(ctx: CliContext): Command {
  const { io } = ctx;
  const program = new Command('sidekiq-migrate')
    .description('Move Sidekiq jobs inside one Redis, or from one Redis to another, losing, duplicating and altering none.')
    .version('0.1.0', '--version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    // Read by the commands that take connections and routing (cli/config/options-with-config.ts).
    .option('--config <file>', 'configuration file (default: $SIDEKIQ_MIGRATE_CONFIG, or sidekiq-migrate.config.{json,yaml,yml} in the current directory); routes, match and demo read none')
    .addHelpText(
      'after',
      '\nExit codes: 0 success; 1 the operation failed or did not finish (run it again to\nresume), or a cron rewrite or carry left sidekiq-cron definitions unread,\nunjudged or changed meanwhile; 2 bad usage or input (nothing was touched); 3\ndrain-check: jobs exist that nobody will run; 130 Ctrl-C quit at once (a second\none, or one while a run plans or in a dry run; the next run finishes what was in\nflight).',
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });
  registerRoutesCommand(program, io);
  registerMatchCommand(program, io);
  registerRunCommand(program, ctx);
  registerMoveCommand(program, ctx);
  registerRollbackCommand(program, ctx);
  registerDemoCommand(program, ctx);
  registerDrainCheckCommand(program, ctx);
  // The deployed state machine (AWS Step Functions).
  registerStartCommand(program, ctx);
  registerWatchCommand(program, ctx);
  registerStatusCommand(program, ctx);
  registerListCommand(program, ctx);
  registerStopCommand(program, ctx);
  registerHelpCommand(program);
  // Subcommands inherit the error and output handling.
  // Excess arguments are refused in the preAction hook, after an option that took another as its
  // value is named: that is how a value left out most often ends up as an excess argument.
  for (const command of program.commands) command.exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err }).allowExcessArguments();
  // A single-value option given twice (`--redis A --redis B`) is refused, not the later one taken.
  for (const command of [program, ...program.commands]) recordGivenOptions(command);
  program.hook('preAction', (_program, action) => {
    refuseRepeatedOptions(program);
    refuseRepeatedOptions(action);
    refuseConfigNotRead(program, action);
    refuseOptionsAsValues(action);
    refuseExcessArguments(action);
  });
  return program;
}

/** The commands that read no configuration file: `--config` typed for one did nothing, without a word. */
const READ_NO_CONFIG = new Set(['routes', 'match', 'demo']);

function refuseConfigNotRead(program: Command, command: Command): void {
  if (program.getOptionValueSource('config') !== 'cli' || !READ_NO_CONFIG.has(command.name())) return;
  const what = { routes: 'give --catalog and --rules on the command line', match: 'give --catalog and --query on the command line', demo: 'it seeds a throwaway redis-server of its own' }[command.name()];
  throw new InputError(`--config: ${command.name()} reads no configuration file (${what}): leave --config out. Nothing was touched.`);
}

/**
 * An option whose value was left out takes the next word, even another option: `move
 * --to-namespace --dry-run` (or `--to-namespace $NS --dry-run`, NS empty and unquoted) moved every
 * job under the prefix "--dry-run:", for real. A value that is one of the command's own options
 * is refused before anything is touched.
 */
function refuseOptionsAsValues(command: Command): void {
  const flags = new Set<string>(['-h', '--help']);
  for (const option of command.options) {
    if (option.long) flags.add(option.long);
    if (option.short) flags.add(option.short);
  }
  for (const option of command.options) {
    const key = option.attributeName();
    if (command.getOptionValueSource(key) !== 'cli') continue;
    const value: unknown = command.getOptionValue(key);
    for (const word of Array.isArray(value) ? value : [value]) {
      if (typeof word !== 'string' || !flags.has(word)) continue;
      const name = option.long ?? option.flags;
      throw new InputError(`${name}: its value is missing: it took ${word}, an option of this command, as its value. Give ${name} its value (an empty one as ${name} ''). Nothing was touched.`);
    }
  }
}

/** Commander's own check and words (allowExcessArguments let the command through to the hook). */
function refuseExcessArguments(command: Command): void {
  const expected = command.registeredArguments;
  if (expected.at(-1)?.variadic || command.args.length <= expected.length) return;
  const s = expected.length === 1 ? '' : 's';
  command.error(`error: too many arguments for '${command.name()}'. Expected ${expected.length} argument${s} but got ${command.args.length}.`, { code: 'commander.excessArguments' });
}

/**
 * Runs the CLI and returns its exit code: 0 success, 1 failed operation, 2 bad usage or input.
 * Errors are one message on stderr, no stack trace (set SIDEKIQ_MIGRATE_DEBUG=1 to get one).
 */
export async function main(
  argv: readonly string[],
  io: CliIo = processIo,
  // A server unreachable past the retries that ride out a failover ends the run (outage-watch.ts).
  handlersFor: CliContext['handlersFor'] = (connections) => localTaskHandlers(new OutageWatch(connections)),
  time: Pick<CliContext, 'sleep' | 'now' | 'retryIntervalMs'> = realTime,
): Promise<number> {
  const ctx: CliContext = { io, exitCode: ExitCode.ok, handlersFor, ...time };
  const program = buildProgram(ctx);
  if (argv.length <= 2) {
    // Bad usage: said on stderr, as every other (with the exit codes, as --help has them).
    program.outputHelp({ error: true });
    return ExitCode.badInput;
  }
  try {
    await program.parseAsync([...argv]);
    return ctx.exitCode;
  } catch (error) {
    return reportError(error, io);
  }
}

function reportError(error: unknown, io: CliIo): number {
  if (error instanceof CommanderError) {
    // Commander already printed its message (or the help/version text).
    return error.exitCode === 0 ? ExitCode.ok : ExitCode.badInput;
  }
  const debug = process.env['SIDEKIQ_MIGRATE_DEBUG'] === '1';
  if (error instanceof InputError) {
    io.err(`${inputErrorText(error)}\n`);
    if (debug) io.err(`${error.stack}\n`);
    return ExitCode.badInput;
  }
  if (error instanceof SidekiqMigrateError) {
    io.err(`${error.message}\n`);
    if (debug) io.err(`${error.stack}\n`);
    return ExitCode.failed;
  }
  io.err(`Unexpected error: ${(error as Error)?.message ?? String(error)}\n`);
  io.err(debug ? `${(error as Error)?.stack}\n` : '(set SIDEKIQ_MIGRATE_DEBUG=1 for the stack trace)\n');
  return ExitCode.failed;
}
