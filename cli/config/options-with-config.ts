import type { Command } from 'commander';
import { ENVIRONMENT_OPTIONS } from '../../core/config/config-environment.js';
import { redactSecrets, urlCredentials } from '../../core/config/redact-secrets.js';
import { EARLIER_PROBLEMS, type EarlierProblems } from '../../core/config/validate-config.js';
import { fileOptionValues, ROUTING_FORM_OPTIONS, ROUTING_OPTIONS, SELECTION_OPTIONS } from './file-option-values.js';
import { cliConfigOf } from './load-cli-config.js';

export interface ConfigLookup {
  /** Where the configuration file is searched for (default: the process's current directory). */
  readonly cwd?: string;
  /**
   * Options for which neither the environment nor the file is consulted, only the command line:
   * those that would conflict with what the command line chose (e.g. `drain-check --deployed`
   * takes no `redis`).
   */
  readonly ignore?: readonly string[];
}

/**
 * The raw options of `command` for its zod schema, completed from the environment and the
 * configuration file. For each option the command defines: a value given on the command line
 * wins; else its environment variable (ENVIRONMENT_OPTIONS); else the file; else it is left to
 * the schema's default. Commander's own defaults (`queues: true` of `--no-queues`) count as
 * absent. A routing flag on the command line replaces the file's whole `routing` section, since
 * mixing the two would combine two routing forms (`--environment` alone replaces only the file's
 * `environment`: it picks the section the file's rules are read from, ROUTING_FORM_OPTIONS); a selection flag likewise replaces the file's
 * selection (`classes`, `classesFile`, `store`). Keys the command does not define are never
 * added. Does not modify `raw`.
 *
 * The problems of the file's settings and of the variables do not throw here: they travel with the
 * options (EARLIER_PROBLEMS) for validateConfig to say with the options' own, in one message. An
 * option whose file setting or variable is wrong is left out. (A file that cannot be read or
 * parsed throws: none of its values, so none of the options it would set, is known.)
 */
export function optionsWithConfig(command: Command, raw: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env, lookup: ConfigLookup = {}): Record<string, unknown> {
  const ignored = new Set(lookup.ignore ?? []);
  const given = (key: string) => {
    const source = command.getOptionValueSource(key);
    return source !== undefined && source !== 'default';
  };
  const keys = command.options.map((o) => o.attributeName()).filter((key) => key !== 'config');
  const open = keys.filter((key) => !given(key) && !ignored.has(key));

  const { values: fromEnv, problems: envProblems, unknown: envUnknown } = environmentValues(open, env);
  const config = cliConfigOf(command, env, lookup.cwd);
  const fromFile = config ? fileOptionValues(config.values) : {};
  // The options the file's wrong settings would have set (routing and aws are sections of several).
  const fileUnknown = new Set((config?.unknownKeys ?? []).flatMap((key) => (key === 'routing' ? [...ROUTING_OPTIONS] : key === 'aws' ? ['region', 'stack', 'stateMachine'] : [key])));
  if (ROUTING_FORM_OPTIONS.some(given)) for (const key of ROUTING_OPTIONS) { delete fromFile[key]; fileUnknown.delete(key); }
  if (SELECTION_OPTIONS.some(given)) for (const key of SELECTION_OPTIONS) { delete fromFile[key]; fileUnknown.delete(key); }

  const options: Record<string, unknown> = {};
  for (const key of keys) {
    if (!open.includes(key)) {
      if (raw[key] !== undefined) options[key] = raw[key];
    } else if (fromEnv.has(key)) {
      const value = fromEnv.get(key);
      if (value !== undefined) options[key] = value;
    } else if (key in fromFile) options[key] = fromFile[key];
    else if (raw[key] !== undefined && !fileUnknown.has(key)) options[key] = raw[key];
  }
  const fileProblems = config?.problems ?? [];
  if (fileProblems.length + envProblems.length === 0) return options;
  const unknown = [...envUnknown, ...keys.filter((key) => open.includes(key) && !fromEnv.has(key) && fileUnknown.has(key))];
  const earlier: EarlierProblems = { problems: [...fileProblems, ...envProblems], unknown, file: fileProblems.length > 0 };
  return { ...options, [EARLIER_PROBLEMS]: earlier };
}

/**
 * The set environment variables of the given options, checked with the file's rules (problems
 * named after the variable, passwords redacted). An option the SDK reads from the environment
 * itself maps to undefined: present, so that the file's value is not used, but not passed.
 */
function environmentValues(keys: readonly string[], env: NodeJS.ProcessEnv): { values: Map<string, unknown>; problems: string[]; unknown: string[] } {
  const values = new Map<string, unknown>();
  const problems: string[] = [];
  const unknown: string[] = [];
  for (const entry of ENVIRONMENT_OPTIONS) {
    const text = env[entry.variable];
    if (!keys.includes(entry.option) || text === undefined || text === '') continue;
    const result = entry.schema.safeParse(text);
    if (!result.success) {
      problems.push(...result.error.issues.map((i) => redactSecrets(`${entry.variable}: ${i.message}`, urlCredentials(text))));
      unknown.push(entry.option);
    }
    // A wrong one is present (not the file's value) but undefined: left out of the options.
    values.set(entry.option, entry.readBySdk || !result.success ? undefined : result.data);
  }
  return { values, problems, unknown };
}
