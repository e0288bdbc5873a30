import type { z } from 'zod';
import { ConfigError } from './config-error.js';

/**
 * Validates input against a schema once, reporting every problem together, each prefixed with the
 * option it concerns (`--catalog: …`). `label` turns a schema path into the name the user typed.
 */
export function validateConfig<S extends z.ZodType>(
  schema: S,
  input: unknown,
  label: (path: readonly PropertyKey[]) => string = defaultLabel,
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const where = issue.path.length > 0 ? `${label(issue.path)}: ` : '';
    if (issue.code === 'unrecognized_keys') return `${where}unknown option(s) ${issue.keys.map((k) => label([k])).join(', ')}`;
    return `${where}${issue.message}`;
  });
  throw new ConfigError(problems);
}

/** `["catalog"]` → `--catalog`; `["toNamespace"]` → `--to-namespace`. */
export function defaultLabel(path: readonly PropertyKey[]): string {
  const [head] = path;
  return typeof head === 'string' ? `--${head.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` : String(head);
}

/**
 * validateConfig, and when the options fail, the problems of the files they name too (`fileProblems`
 * reads them from the unvalidated input, as the command would next, and says what is wrong with
 * each): one message with both, not the options' first and, once they are fixed, the files'.
 */
export function validateConfigAndFiles<S extends z.ZodType>(schema: S, input: Record<string, unknown>, fileProblems: (input: Record<string, unknown>) => readonly string[]): z.output<S> {
  try {
    return validateConfig(schema, input);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const files = fileProblems(input);
    if (files.length === 0) throw error;
    throw new ConfigError([...error.problems, ...files], 'Invalid options and files:');
  }
}
