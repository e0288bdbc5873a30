import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CONFIG_FILE_VARIABLE } from '../../core/config/config-environment.js';
import { InputError } from '../../core/errors/input-error.js';

/** The names looked for in the current directory. */
export const CONFIG_FILE_NAMES = ['sidekiq-migrate.config.json', 'sidekiq-migrate.config.yaml', 'sidekiq-migrate.config.yml'] as const;

export interface ConfigFileLocation {
  /** Absolute. */
  readonly path: string;
  /** As messages show it: as the user gave it, or the bare name found in the current directory. */
  readonly name: string;
  /** What chose it, for the line that says which file is used. */
  readonly origin: '--config' | typeof CONFIG_FILE_VARIABLE | 'the current directory';
}

/**
 * Which configuration file applies: `--config FILE`, else `$SIDEKIQ_MIGRATE_CONFIG`, else the one
 * `sidekiq-migrate.config.*` of the current directory (none: no file). Two or more there is an
 * error rather than a silent choice, since the one not read would look authoritative. A named file
 * must exist; that is checked when it is read.
 */
export function findConfigFile(options: { explicit?: string; cwd: string; env: NodeJS.ProcessEnv }): ConfigFileLocation | undefined {
  const { explicit, cwd, env } = options;
  // '' (`--config "$CONFIG"`, the variable unset) resolved to the current directory: "it is a directory".
  if (explicit === '') throw new InputError(`--config: a path to the configuration file, not empty (leave --config out to use $${CONFIG_FILE_VARIABLE} or the sidekiq-migrate.config.* of the current directory). Nothing was touched.`);
  if (explicit !== undefined) return { path: resolve(cwd, explicit), name: explicit, origin: '--config' };
  const named = env[CONFIG_FILE_VARIABLE];
  // Blank ('  ') was read as a file named with blanks in the current directory, the variable not
  // named. Empty stays as unset, as a shell's `VAR=` is.
  if (named && named.trim() === '') {
    throw new InputError(`$${CONFIG_FILE_VARIABLE}: a path to the configuration file, not blank (${JSON.stringify(named)}): set it to the file, or unset it to use the sidekiq-migrate.config.* of the current directory. Nothing was touched.`);
  }
  if (named) return { path: resolve(cwd, named), name: named, origin: CONFIG_FILE_VARIABLE };
  const present = CONFIG_FILE_NAMES.filter((name) => existsSync(join(cwd, name)));
  if (present.length > 1) {
    throw new InputError(`Several configuration files in ${cwd}: ${present.join(', ')}. Keep one, or choose one with --config FILE.`);
  }
  const [name] = present;
  return name === undefined ? undefined : { path: join(cwd, name), name, origin: 'the current directory' };
}
