import type { Command } from 'commander';
import type { ConfigFile } from '../../core/config/config-file.js';
import { readConfigFile, readConfigFileParts } from '../../core/config/read-config-file.js';
import { findConfigFile, type ConfigFileLocation } from './find-config-file.js';

/** A configuration file, found, read and validated (paths in it absolute). */
export interface CliConfig {
  readonly file: ConfigFileLocation;
  readonly values: ConfigFile;
}

/** A configuration file whose settings may have problems, said with the command's options. */
export interface CliConfigParts extends CliConfig {
  /** What is wrong with its settings (each naming the file and the key). */
  readonly problems: readonly string[];
  /** Its top-level keys whose value is unknown (wrong, or an unset `${VAR}`): left out of `values`. */
  readonly unknownKeys: readonly string[];
}

export interface CliConfigSources {
  /** `--config FILE`, when given. */
  readonly path?: string;
  /** Where relative paths and the search start (default: the process's). */
  readonly cwd?: string;
  /** For `$SIDEKIQ_MIGRATE_CONFIG` and `${VAR}` in the file (default: the process's). */
  readonly env?: NodeJS.ProcessEnv;
}

/** Finds, reads and validates the configuration file; undefined when there is none. */
export function loadCliConfig(sources: CliConfigSources = {}): CliConfig | undefined {
  const env = sources.env ?? process.env;
  const file = findConfigFile({ explicit: sources.path, cwd: sources.cwd ?? process.cwd(), env });
  return file && { file, values: readConfigFile(file.path, file.name, env) };
}

// One load per program (one per process for the real CLI, one per `main` call in tests): a
// command that asks twice sees the same file and says which once.
const loaded = new WeakMap<Command, CliConfigParts | null>();

/**
 * The configuration file of the program `command` belongs to, as its global `--config` option (or
 * the environment, or `cwd`) says. Loaded once per program; the first load writes on stderr which
 * file is used (through commander's output, which the CLI points at its own streams).
 */
export function cliConfigOf(command: Command, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): CliConfigParts | undefined {
  const program = rootOf(command);
  if (!loaded.has(program)) {
    const path = program.opts()['config'] as string | undefined;
    // Problems of its settings are returned, to be said with the options' (a file that cannot be read or parsed throws).
    const file = findConfigFile({ explicit: path, cwd, env });
    const config = file && { file, ...readConfigFileParts(file.path, file.name, env) };
    loaded.set(program, config ?? null);
    // A file with problems is named by each of them.
    if (config && config.problems.length === 0) command.configureOutput().writeErr?.(`Using configuration file ${config.file.name} (${config.file.origin})\n`);
  }
  return loaded.get(program) ?? undefined;
}

function rootOf(command: Command): Command {
  let root = command;
  while (root.parent) root = root.parent;
  return root;
}
