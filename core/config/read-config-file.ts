import { dirname, resolve } from 'node:path';
import type { z } from 'zod';
import { ConfigError } from './config-error.js';
import { CONFIG_FILE_KEYS, configFileSchema, PASSWORD_KEYS, URL_KEYS, type ConfigFile } from './config-file.js';
import { readStructuredFile } from './read-structured-file.js';
import { redactSecrets, urlCredentials } from './redact-secrets.js';
import { substituteEnv, type Substitution } from './substitute-env.js';
import { suggestKey } from './suggest-key.js';

/**
 * Reads, completes (`${VAR}`) and validates a configuration file. Every problem is reported at
 * once, each as `NAME: key.path: what is wrong`, with passwords redacted. Relative paths in it
 * (catalog, rules, mapping, tlsCa) are returned resolved against the file's directory, so that
 * the file means the same wherever the command is run from.
 *
 * @param path the file, absolute or relative to the current directory
 * @param name how messages name it (as the user gave it)
 */
export function readConfigFile(path: string, name: string, env: NodeJS.ProcessEnv): ConfigFile {
  const { values, problems } = readConfigFileParts(path, name, env);
  if (problems.length > 0) throw new ConfigError(problems);
  return values;
}

/** A configuration file's settings that are known, and what is wrong with the others. */
export interface ConfigFileParts {
  /** The settings that passed (paths resolved); a key with a problem is left out. */
  readonly values: ConfigFile;
  /** Every problem, as readConfigFile says them. */
  readonly problems: readonly string[];
  /** The top-level keys given whose value is unknown: wrong, or holding an unset `${VAR}`. */
  readonly unknownKeys: readonly string[];
}

/**
 * readConfigFile, not throwing for the file's settings: the command says their problems with its
 * options' (one message, not one round for the file and one for the options). A file that cannot
 * be read or parsed, or is no mapping, still throws: none of its values is known, and so neither
 * which options it would have set, nor whether they would then be right.
 */
export function readConfigFileParts(path: string, name: string, env: NodeJS.ProcessEnv): ConfigFileParts {
  // An empty file (or only comments) is an empty configuration, not an error.
  const data = readStructuredFile(path, 'configuration file', { numbersAsWritten: true }) ?? {};
  const substituted = substituteEnv(data, env);
  const parsed = configFileSchema.safeParse(substituted.value);
  const unset = substituted.problems.map((p) => keyPath(p.path));
  const issues = parsed.success ? [] : onePerWrongType(parsed.error.issues);
  const problems = [
    ...substituted.problems.map((p) => located(p.path, p.message)),
    // A value still holding an unset `${VAR}` is reported once, for the variable.
    ...issues.filter((issue) => !unset.some((u) => keyPath(issue.path).startsWith(u))).flatMap((issue) => describeIssue(issue, substituted.empty)),
  ];
  const secrets = secretsOf(substituted.value);
  const said = problems.map((p) => redactSecrets(`${name}: ${p}`, secrets));
  if (parsed.success && said.length === 0) return { values: resolvePaths(parsed.data, dirname(resolve(path))), problems: [], unknownKeys: [] };
  const record = substituted.value;
  const whole = record === null || typeof record !== 'object' || Array.isArray(record) || issues.some((i) => i.path.length === 0 && i.code !== 'unrecognized_keys');
  if (whole) throw new ConfigError(said);
  // The keys with a problem are left out (a misspelt one sets nothing): the others are known.
  const unknownKeys = [...new Set([...substituted.problems.map((p) => p.path[0]), ...issues.map((i) => i.path[0])].filter((k): k is string => typeof k === 'string'))];
  const known = Object.fromEntries(Object.entries(record).filter(([key]) => !unknownKeys.includes(key) && key in configFileSchema.shape));
  const rest = configFileSchema.safeParse(known);
  if (!rest.success) throw new ConfigError(said);
  return { values: resolvePaths(rest.data, dirname(resolve(path))), problems: said, unknownKeys };
}

/**
 * zod checks a string's length on a list too (`redis: []`): after "not a string" it said the same
 * setting again for its length. A value of the wrong type has that one problem.
 */
function onePerWrongType(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  const wrongType = new Set(issues.filter((i) => i.code === 'invalid_type').map((i) => keyPath(i.path)));
  return issues.filter((i) => i.code === 'invalid_type' || !wrongType.has(keyPath(i.path)));
}

function describeIssue(issue: z.core.$ZodIssue, empty: Substitution['empty'] = []): string[] {
  if (issue.code === 'unrecognized_keys') {
    const section = keyPath(issue.path);
    const here = CONFIG_FILE_KEYS[section] ?? [];
    // Keys of the other sections, qualified, so that `region` at the top suggests `aws.region`.
    const elsewhere = Object.entries(CONFIG_FILE_KEYS).flatMap(([s, keys]) => (s === section ? [] : keys.map((k) => (s === '' ? k : `${s}.${k}`))));
    return issue.keys.map((key) => {
      const near = suggestKey(key, here);
      const other = near === undefined ? suggestKey(key, elsewhere) : undefined;
      // A top-level key written in a section (`routing.strict`) is suggested unqualified: said
      // where it goes, or the suggestion reads as the key already written.
      const where = other !== undefined && section !== '' && !other.includes('.') ? ' at the top level of the file' : '';
      const suggestion = near ?? other;
      return located([...issue.path, key], `unknown key${suggestion ? ` (did you mean "${suggestion}"${where}?)` : ''}`);
    });
  }
  // A setting made wrong by an empty `${VAR}` (`redis: ${NOPE}`): the file looks right, so the variable is named.
  const emptied = empty.find((e) => keyPath(issue.path) === keyPath(e.path));
  if (emptied) return [located(issue.path, `the environment variable ${emptied.name} is set but empty; expected ${issue.message}`)];
  return [located(issue.path, issue.message)];
}

function located(path: readonly PropertyKey[], message: string): string {
  return path.length === 0 ? message : `${keyPath(path)}: ${message}`;
}

/** `['routing', 'catalog', 1]` → `routing.catalog[1]`. */
function keyPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i > 0 ? '.' : ''}${String(p)}`)).join('');
}

function secretsOf(value: unknown): string[] {
  if (value === null || typeof value !== 'object') return [];
  const record = value as Record<string, unknown>;
  const passwords = PASSWORD_KEYS.flatMap((key) => (typeof record[key] === 'string' && record[key].length >= 3 ? [record[key]] : []));
  return [...URL_KEYS.flatMap((key) => (typeof record[key] === 'string' ? urlCredentials(record[key]) : [])), ...passwords];
}

function resolvePaths(config: ConfigFile, dir: string): ConfigFile {
  const at = (p: string | undefined) => (p === undefined ? undefined : resolve(dir, p));
  const { routing } = config;
  return {
    ...config,
    ...(config.tlsCa !== undefined ? { tlsCa: at(config.tlsCa) } : {}),
    ...(config.fromTlsCa !== undefined ? { fromTlsCa: at(config.fromTlsCa) } : {}),
    ...(config.toTlsCa !== undefined ? { toTlsCa: at(config.toTlsCa) } : {}),
    ...(config.classesFile !== undefined ? { classesFile: at(config.classesFile) } : {}),
    ...(config.redisYml !== undefined ? { redisYml: at(config.redisYml) } : {}),
    ...(routing
      ? {
          routing: {
            ...routing,
            ...(routing.catalog ? { catalog: routing.catalog.map((p) => resolve(dir, p)) } : {}),
            ...(routing.rules !== undefined ? { rules: at(routing.rules) } : {}),
            ...(routing.mapping !== undefined ? { mapping: at(routing.mapping) } : {}),
          },
        }
      : {}),
  };
}
