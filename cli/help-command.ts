import type { Command } from 'commander';
import { InputError } from '../core/errors/input-error.js';

/**
 * `sidekiq-migrate help [command]`. Commander's own help command answered a name it does not know
 * with the whole usage on stderr, naming neither the name nor what went wrong: this one says so
 * in one line, with the commands there are (exit 2, as any bad usage).
 */
export function registerHelpCommand(program: Command): void {
  program.helpCommand(false);
  program
    .command('help')
    .summary('show help for a command')
    .description('Shows the usage of a command, or of sidekiq-migrate without one.')
    .argument('[command]', 'the command to show help for')
    .action((name: string | undefined) => {
      if (name === undefined) return void program.outputHelp();
      const command = program.commands.find((c) => c.name() === name || c.aliases().includes(name));
      if (command === undefined) throw new InputError(`Unknown command '${name}'. The commands are: ${program.commands.map((c) => c.name()).join(', ')}.`);
      command.outputHelp();
    });
}
