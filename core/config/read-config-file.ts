import { dirname, resolve } from 'node:path';
import type { z } from 'zod';
import { ConfigError } from './config-error.js';
import { CONFIG_FILE_KEYS, configFileSchema, PASSWORD_KEYS, URL_KEYS, type ConfigFile } from './config-file.js';
import { readStructuredFile } from './read-structured-file.js';
import { redactSecrets, urlCredentials } from './redact-secrets.js';
import { substituteEnv } from './substitute-env.js';
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
  // An empty file (or only comments) is an empty configuration, not an error.
  const data = readStructuredFile(path, 'configuration file') ?? {};
  const substituted = substituteEnv(data, env);
  const parsed = configFileSchema.safeParse(substituted.value);
  const unset = substituted.problems.map((p) => keyPath(p.path));
  const problems = [
    ...substituted.problems.map((p) => located(p.path, p.message)),
    // A value still holding an unset `${VAR}` is reported once, for the variable.
    ...(parsed.success ? [] : parsed.error.issues.filter((issue) => !unset.some((u) => keyPath(issue.path).startsWith(u))).flatMap(describeIssue)),
  ];
  if (problems.length > 0) {
    const secrets = secretsOf(substituted.value);
    throw new ConfigError(problems.map((p) => redactSecrets(`${name}: ${p}`, secrets)));
  }
  return resolvePaths(parsed.data!, dirname(resolve(path)));
}

function describeIssue(issue: z.core.$ZodIssue): string[] {
  if (issue.code === 'unrecognized_keys') {
    const section = keyPath(issue.path);
    const here = CONFIG_FILE_KEYS[section] ?? [];
    // Keys of the other sections, qualified, so that `region` at the top suggests `aws.region`.
    const elsewhere = Object.entries(CONFIG_FILE_KEYS).flatMap(([s, keys]) => (s === section ? [] : keys.map((k) => (s === '' ? k : `${s}.${k}`))));
    return issue.keys.map((key) => {
      const suggestion = suggestKey(key, here) ?? suggestKey(key, elsewhere);
      return located([...issue.path, key], `unknown key${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`);
    });
  }
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
