import type { Command } from 'commander';
import type { ConfigFile } from '../../core/config/config-file.js';
import { readConfigFile } from '../../core/config/read-config-file.js';
import { findConfigFile, type ConfigFileLocation } from './find-config-file.js';

/** A configuration file, found, read and validated (paths in it absolute). */
export interface CliConfig {
  readonly file: ConfigFileLocation;
  readonly values: ConfigFile;
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
const loaded = new WeakMap<Command, CliConfig | null>();

/**
 * The configuration file of the program `command` belongs to, as its global `--config` option (or
 * the environment, or `cwd`) says. Loaded once per program; the first load writes on stderr which
 * file is used (through commander's output, which the CLI points at its own streams).
 */
export function cliConfigOf(command: Command, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): CliConfig | undefined {
  const program = rootOf(command);
  if (!loaded.has(program)) {
    const path = program.opts()['config'] as string | undefined;
    const config = loadCliConfig({ path, env, cwd });
    loaded.set(program, config ?? null);
    if (config) command.configureOutput().writeErr?.(`Using configuration file ${config.file.name} (${config.file.origin})\n`);
  }
  return loaded.get(program) ?? undefined;
}

function rootOf(command: Command): Command {
  let root = command;
  while (root.parent) root = root.parent;
  return root;
}
