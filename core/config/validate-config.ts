import type { z } from 'zod';
import { InputError, inputErrorText } from '../errors/input-error.js';
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
  const { options, earlier } = withoutEarlier(input);
  const result = schema.safeParse(options);
  if (result.success && !earlier) return result.data;
  // An option whose value is unknown (its file entry or variable is wrong, said in `earlier`) is
  // left out: its schema's "required" (or, for the routing options, "say where jobs go", which
  // names no option) would be said of a value given, and wrong for another reason.
  const unknown = new Set(earlier?.unknown ?? []);
  const routingUnknown = ['catalog', 'rules', 'mapping', 'rename'].some((k) => unknown.has(k));
  const issues = result.success ? [] : result.error.issues.filter((issue) => {
    const [head] = issue.path;
    return head === undefined ? !routingUnknown : !(typeof head === 'string' && unknown.has(head));
  });
  const problems = issues.map((issue) => {
    const where = issue.path.length > 0 ? `${label(issue.path)}: ` : '';
    if (issue.code === 'unrecognized_keys') return `${where}unknown option(s) ${issue.keys.map((k) => label([k])).join(', ')}`;
    return `${where}${issue.message}`;
  });
  throw new ConfigError([...(earlier?.problems ?? []), ...problems], earlier?.file && problems.length > 0 ? 'Invalid options and files:' : undefined);
}

/**
 * Problems found while gathering a command's options, before its schema checks them: the
 * configuration file's settings and the environment variables (cli/config/options-with-config.ts).
 * Carried with the options under this key, they are said with the schema's, in one message.
 */
export const EARLIER_PROBLEMS = Symbol('earlier problems');

export interface EarlierProblems {
  readonly problems: readonly string[];
  /** The options whose values are unknown because of them (left out of the options). */
  readonly unknown: readonly string[];
  /** Whether a file (the configuration file) is among what they concern. */
  readonly file: boolean;
}

function withoutEarlier(input: unknown): { options: unknown; earlier?: EarlierProblems } {
  if (input === null || typeof input !== 'object' || !(EARLIER_PROBLEMS in input)) return { options: input };
  const { [EARLIER_PROBLEMS]: earlier, ...options } = input as Record<PropertyKey, unknown>;
  return { options, earlier: earlier as EarlierProblems };
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
 *
 * With the options valid, the files' problems are said together too (the command would read the
 * files one by one, and say the first it cannot use alone).
 *
 * `refusals` says what the command would refuse once the options and files are good, comparing
 * values (a CA for redis:// URLs, a store its redis.yml does not define, an input too large): from
 * the unvalidated input too, each value it needs checked as it goes, and said with the others
 * whether the options fail or not (with the files' problems then, which the command would say first).
 */
export function validateConfigAndFiles<S extends z.ZodType>(
  schema: S,
  input: Record<string, unknown>,
  fileProblems: (input: Record<string, unknown>) => readonly string[],
  refusals: (input: Record<string, unknown>) => readonly string[] = () => [],
  label: (path: readonly PropertyKey[]) => string = defaultLabel,
): z.output<S> {
  const given = () => withoutEarlier(input).options as Record<string, unknown>;
  let options: z.output<S>;
  try {
    options = validateConfig(schema, input, label);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const more = [...fileProblems(given()), ...refusals(given())];
    if (more.length === 0) throw error;
    throw new ConfigError([...error.problems, ...more], 'Invalid options and files:');
  }
  // The files too, with the options valid: the command read them one by one as it went on, so that
  // a missing mapping was said, and a missing CA file beside it only once the mapping was found.
  const problems = [...fileProblems(given()), ...refusals(given())];
  if (problems.length === 0) return options;
  throw new ConfigError(problems, 'Invalid options and files:');
}

/** What `check` throws as bad input (InputError), as a problem for a message of several; nothing when it passes. */
export function problemOf(check: () => unknown): string[] {
  try {
    check();
    return [];
  } catch (error) {
    if (error instanceof InputError) return [inputErrorText(error)];
    throw error;
  }
}
