import { parse } from 'yaml';
import { parsePlainJson } from '../config/parse-plain-json.js';
import { readInputFile } from '../config/read-input-file.js';
import { readStructuredFile } from '../config/read-structured-file.js';
import { InvalidRoutingRuleError } from './invalid-routing-rule-error.js';
import { rubyInspect } from './ruby-value.js';

export interface LoadedRoutingRules {
  /** The rules as configured (before GitLab's default substitution); null when not configured. */
  readonly rules: unknown;
  /** Where in the file they were found, for messages: "rules.yml" or "gitlab.yml production.sidekiq.routing_rules". */
  readonly origin: string;
}

/**
 * Reads routing rules from a file holding either the rule list itself (JSON or YAML, an array of
 * `[query, queue]` pairs) or a `gitlab.yml`, where they live at `<environment>.sidekiq.routing_rules`
 * (`production` by default). A gitlab.yml without routing rules yields null, which GitLab turns
 * into its default rule.
 */
export function loadRoutingRules(path: string, environment = 'production'): LoadedRoutingRules {
  const loaded = rulesIn(readStructuredFile(path, 'routing rules file'), path, environment);
  refuseYamlVersionDifferences(path, environment, loaded);
  return loaded;
}

function rulesIn(content: unknown, path: string, environment: string): LoadedRoutingRules {
  if (Array.isArray(content) || content === null) return { rules: content, origin: path };
  // Its own key only: `in` would find `constructor` or `__proto__` on every object, and a section
  // found there holds no rules, which GitLab's default turns into "every worker to default".
  if (typeof content === 'object' && Object.hasOwn(content, environment)) {
    const env = (content as Record<string, unknown>)[environment];
    const sidekiq = isObject(env) ? env['sidekiq'] : undefined;
    const rules = isObject(sidekiq) ? sidekiq['routing_rules'] : undefined;
    return { rules: rules ?? null, origin: `${path} ${environment}.sidekiq.routing_rules` };
  }
  throw new InvalidRoutingRuleError(
    `${path}: expected a list of [query, queue] routing rules, or a gitlab.yml with ${environment}.sidekiq.routing_rules`,
  );
}

const ELEMENTS = ['query', 'queue', 'store'] as const;

/**
 * GitLab reads gitlab.yml with Psych, a YAML 1.1 parser; we read YAML 1.2. A plain scalar the two
 * read differently (`no`, `off` → false, `on`, `yes` → true, `1_000` → 1000, `017` → 15, `0o17`
 * a string) would route otherwise than GitLab without a word (a queue named "no" where GitLab
 * uses the generated name): such a rule element is refused, naming both readings. JSON quotes
 * every string, so a JSON file has nothing to compare.
 */
function refuseYamlVersionDifferences(path: string, environment: string, loaded: LoadedRoutingRules): void {
  if (!Array.isArray(loaded.rules)) return;
  const text = readInputFile(path, 'routing rules file');
  if (parsePlainJson(text) !== undefined) return;
  let yaml11: unknown;
  try {
    yaml11 = rulesIn(parse(text, { version: '1.1', merge: true, prettyErrors: false }), path, environment).rules;
  } catch {
    return; // what YAML 1.1 cannot read, GitLab cannot either; the 1.2 reading is checked as it is
  }
  if (!Array.isArray(yaml11)) return;
  loaded.rules.forEach((rule, i) => {
    const other: unknown = yaml11[i];
    if (!Array.isArray(rule) || !Array.isArray(other)) return;
    rule.forEach((value, j) => {
      const as11: unknown = other[j];
      // Psych, unlike YAML 1.1's spec (and the yaml package's 1.1 schema), reads y, Y, n, N as strings.
      if (sameValue(value, as11) || (typeof value === 'string' && /^[yYnN]$/.test(value))) return;
      const element = ELEMENTS[j] ?? `element ${j + 1}`;
      // Psych's base-60 numbers are not the yaml package's (12:30 is 45000 in Ruby 3.1, 750 there): no figure.
      const gitlabReads = typeof value === 'string' && value.includes(':') && typeof as11 === 'number' ? 'a number (base 60)' : readAs(as11);
      const quote = typeof value === 'string' ? `quote it (${JSON.stringify(value)})` : 'quote it';
      const error = new InvalidRoutingRuleError(
        `Routing rule \`${rubyInspect(rule)}\` is invalid: its ${element} reads as ${readAs(value)} in YAML 1.2 but as ${gitlabReads} in GitLab's YAML 1.1: ` +
          (element === 'queue' ? `${quote} for a queue of that name, or write null for the worker's generated queue name` : `${quote} as you mean it`),
      );
      error.where = `routing rule ${i + 1} of ${loaded.origin}`;
      throw error;
    });
  });
}

function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a !== typeof b) return false;
  if (a === b || (Number.isNaN(a) && Number.isNaN(b))) return true;
  // A list or mapping where a scalar belongs: equal when every value in it is (the router refuses it anyway).
  return typeof a === 'object' && a !== null && b !== null && !(a instanceof Date) && !(b instanceof Date) && JSON.stringify(a) === JSON.stringify(b);
}

function readAs(value: unknown): string {
  if (value instanceof Date) return `the date ${value.toISOString()}`;
  return typeof value === 'string' ? JSON.stringify(value) : rubyInspect(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
