import { parse, type ScalarTag, type Tags } from 'yaml';
import { parsePlainJson } from '../config/parse-plain-json.js';
import { readInputFile } from '../config/read-input-file.js';
import { readStructuredFile } from '../config/read-structured-file.js';
import { InvalidRoutingRuleError } from './invalid-routing-rule-error.js';
import { PsychFailure, psychPlainScalar, RubyFloat, RubySymbol } from './psych-scalar.js';
import { inspectFloat, rubyInspect } from './ruby-value.js';

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
export function loadRoutingRules(path: string, environment = 'production', environmentGiven?: string): LoadedRoutingRules {
  const content = readStructuredFile(path, 'routing rules file');
  if (Array.isArray(content) && environmentGiven !== undefined) refuseSectionOfPlainList(path, environment, environmentGiven);
  const loaded = rulesIn(content, path, environment);
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
    if (isObject(sidekiq) && !Object.hasOwn(sidekiq, 'routing_rules')) refuseMisspelledRulesKey(path, environment, sidekiq);
    return { rules: rules ?? null, origin: `${path} ${environment}.sidekiq.routing_rules` };
  }
  throw new InvalidRoutingRuleError(
    `${path}: expected a list of [query, queue] routing rules, or a gitlab.yml with ${environment}.sidekiq.routing_rules`,
  );
}

/**
 * A section asked for (`environmentGiven`: the option typed, `--environment`) of a rules file that
 * is a plain list: it has no sections, and the section asked for did nothing, without a word (the
 * user believed the rules read from staging).
 */
function refuseSectionOfPlainList(path: string, environment: string, environmentGiven: string): never {
  throw new InvalidRoutingRuleError(
    `${environmentGiven} ${environment}: ${path} is a plain list of routing rules, with no gitlab.yml sections to pick from: leave ${environmentGiven} out, or give the gitlab.yml`,
  );
}

/**
 * A sidekiq section without routing_rules but with a key that looks like it (`routing_rule`,
 * `routingRules`, `rules`): GitLab ignores it and routes every worker to default, and so would a
 * run. Where GitLab would silently fall back, we refuse.
 */
function refuseMisspelledRulesKey(path: string, environment: string, sidekiq: Record<string, unknown>): void {
  const near = Object.keys(sidekiq).filter((key) => /rout|rule/i.test(key));
  if (near.length === 0) return;
  throw new InvalidRoutingRuleError(
    `${path}: ${environment}.sidekiq has no routing_rules, but has ${near.join(', ')}: did you mean routing_rules? Without it GitLab uses [["*", "default"]] and every worker goes to default.`,
  );
}

const ELEMENTS = ['query', 'queue', 'store'] as const;

/**
 * GitLab reads gitlab.yml with Psych, a YAML 1.1 parser; we read YAML 1.2. A plain scalar the two
 * read differently (`no`, `off` → false, `on`, `yes` → true, `1_000` or `1,000` → 1000, `017` → 15,
 * `1e3` the String "1e3", `1.0e+3` the Float 1000.0, `:sym` the Symbol :sym; `0o17` a string)
 * would route otherwise than GitLab without a word (a queue named "no" where GitLab uses the
 * generated name): such a rule element is refused, naming both readings. GitLab's reading is
 * Psych's own (psych-scalar.ts), not the yaml package's 1.1 schema, which reads `1e3` as 1000 and
 * `:sym` as text. JSON quotes every string, so a JSON file has nothing to compare.
 */
function refuseYamlVersionDifferences(path: string, environment: string, loaded: LoadedRoutingRules): void {
  if (!Array.isArray(loaded.rules)) return;
  const text = readInputFile(path, 'routing rules file');
  if (parsePlainJson(text) !== undefined) return;
  let yaml11: unknown;
  try {
    yaml11 = rulesIn(parse(text, { version: '1.1', merge: true, prettyErrors: false, customTags: psychPlainFirst, logLevel: 'error' }), path, environment).rules;
  } catch {
    return; // what YAML 1.1 cannot read, GitLab cannot either; the 1.2 reading is checked as it is
  }
  if (!Array.isArray(yaml11)) return;
  loaded.rules.forEach((rule, i) => {
    const other: unknown = yaml11[i];
    if (!Array.isArray(rule) || !Array.isArray(other)) return;
    rule.forEach((value, j) => {
      const as11: unknown = other[j];
      if (sameValue(value, as11)) return;
      const element = ELEMENTS[j] ?? `element ${j + 1}`;
      // Psych's base-60 figures have changed between versions (12:30 is 45000 in Ruby 3.1's): no figure.
      const base60 = typeof value === 'string' && value.includes(':') && (typeof as11 === 'number' || as11 instanceof RubyFloat);
      const gitlabReads = base60 ? 'a number (base 60)' : readAs(as11);
      const written = typeof value === 'string' ? value : typeof as11 === 'string' ? as11 : as11 instanceof RubyFloat ? as11.source : undefined;
      const quote = written === undefined ? 'quote it' : `quote it (${JSON.stringify(written)})`;
      const error = new InvalidRoutingRuleError(
        `Routing rule \`${rubyInspect(rule)}\` is invalid: its ${element} reads as ${readAs(value)} in YAML 1.2 but as ${gitlabReads} in GitLab's YAML 1.1: ` +
          (element === 'queue' ? `${quote} for a queue of that name, or write null for the worker's generated queue name` : `${quote} as you mean it`),
      );
      error.where = `routing rule ${i + 1} of ${loaded.origin}`;
      throw error;
    });
  });
}

/** Plain scalars read as Psych reads them (before the merge key `<<`, which it leaves to the next tag). */
const PSYCH_PLAIN: ScalarTag = {
  tag: 'tag:sidekiq-migrate,2026:psych-plain',
  default: true,
  test: /^(?!<<$)/,
  resolve: (text: string) => psychPlainScalar(text),
};

const psychPlainFirst = (tags: Tags): Tags => [PSYCH_PLAIN, ...tags];

function sameValue(a: unknown, b: unknown): boolean {
  // A Float is the same only where our number is no integer either: an integral one would be the
  // queue "1000" here and "1000.0" in GitLab; a fractional one the router refuses in both readings.
  if (b instanceof RubyFloat) return typeof a === 'number' && !Number.isInteger(a) && (a === b.value || (Number.isNaN(a) && Number.isNaN(b.value)));
  if (b instanceof PsychFailure || b instanceof RubySymbol) return false;
  if (typeof a !== typeof b) return false;
  if (a === b || (Number.isNaN(a) && Number.isNaN(b))) return true;
  // A list or mapping where a scalar belongs: equal when every value in it is (the router refuses it anyway).
  return typeof a === 'object' && a !== null && b !== null && !(a instanceof Date) && !(b instanceof Date) && JSON.stringify(a) === JSON.stringify(b);
}

function readAs(value: unknown): string {
  if (value instanceof Date) return `the date ${value.toISOString()}`;
  if (value instanceof RubyFloat) return inspectFloat(value.value);
  if (value instanceof PsychFailure) return `an error (${value.message}), on which GitLab does not start`;
  // libyaml takes a ':' inside [ ] for a mapping's: there, GitLab does not start at all.
  if (value instanceof RubySymbol) return `the Symbol :${value.name} (inside [ ], a syntax error)`;
  if (typeof value === 'bigint') return String(value);
  return typeof value === 'string' ? JSON.stringify(value) : rubyInspect(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
