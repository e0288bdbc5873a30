import { unencodableQueueName } from '../payload/encode-json-string.js';
import { longQueueNameProblem, shortened } from './queue-name-bytes.js';
import { keyNameProblem } from './destination-name.js';
import { compileQuery, type CompiledQuery } from './query/compile-query.js';
import { InvalidRoutingRuleError } from './invalid-routing-rule-error.js';
import { rubyInspect } from './ruby-value.js';

/** One `[query, queue]` (or `[query, queue, store]`) pair, validated and compiled. */
export interface RoutingRule {
  /** 1-based position in the rule list, for messages. */
  readonly position: number;
  readonly query: CompiledQuery;
  /** The destination as written; null when nil or blank (the worker keeps its generated queue). */
  readonly queue: string | null;
  /** Sharded Sidekiq's Redis store (GitLab 17.x); `move --store` selects the workers it names (core/selection/). */
  readonly store: string | null;
  /** The rule as it was given, for messages. */
  readonly raw: unknown;
}

/**
 * Validates and compiles a rule list exactly as GitLab's `WorkerRouter` does when it is built:
 * the list must be an array, every rule an array of 2 or 3 elements, and every query compiles
 * (its `Invalid term` / `Unknown predicate` error propagates unchanged). Where GitLab would crash
 * with a Ruby type error (a nil or numeric query) we raise a clear message instead.
 */
export function compileRoutingRules(rules: unknown): RoutingRule[] {
  if (!Array.isArray(rules)) throw new InvalidRoutingRuleError('The set of routing rule must be an array');
  return rules.map((rule, i) => compileRule(rule, i + 1));
}

/** Characters of a rule shown in its error. */
const SHOWN_RULE_CHARS = 200;

function compileRule(rule: unknown, position: number): RoutingRule {
  // A rule is shown whole unless it is long (a 40,000-byte queue name would drown the message).
  const invalid = (why?: string) =>
    new InvalidRoutingRuleError(`Routing rule \`${shortened(rubyInspect(rule), SHOWN_RULE_CHARS)}\` is invalid${why ? `: ${why}` : ''}`);
  if (!Array.isArray(rule) || rule.length < 2 || rule.length > 3) {
    // GitLab's words say only "is invalid": what a rule is, said apart (the CLI prints it below).
    throw Object.assign(invalid(), { expected: 'a rule is a list of two or three elements, [query, queue] or [query, queue, store], e.g. ["urgency=high", "high"]' });
  }
  const [query, queue, store = null] = rule as unknown[];
  if (typeof query !== 'string') throw invalid('its query must be a string such as "urgency=high" or "*"');
  if (queue !== null && typeof queue !== 'string' && !Number.isInteger(queue)) {
    throw invalid('its queue must be a queue name, or null for the generated queue name');
  }
  if (store !== null && typeof store !== 'string') throw invalid('its store must be a name or null');
  const text = queue === null ? null : String(queue);
  const long = text === null ? undefined : longQueueNameProblem(text);
  if (long !== undefined) throw invalid(`its queue ${long}`);
  const unencodable = text === null ? null : unencodableQueueName(text);
  if (unencodable !== null) throw invalid(`its queue ${unencodable}`);
  const keyName = text === null ? undefined : keyNameProblem(text);
  if (keyName !== undefined) throw invalid(`its queue ${keyName}`);
  return {
    position,
    query: compileQuery(query),
    queue: text === null || isBlank(text) ? null : text,
    // GitLab's shard router sends an empty store where it sends every store whose
    // sidekiq_route_to_<store> flag is not on: to its default instance, as for none.
    store: store === '' ? null : (store as string | null),
    raw: rule,
  };
}

/**
 * ActiveSupport's `blank?` for strings: empty or only Ruby's `[[:space:]]` (ASCII whitespace, U+0085,
 * and the Unicode space/line/paragraph separators). JavaScript's `\s` differs: it lacks U+0085 and
 * has U+FEFF.
 */
function isBlank(text: string): boolean {
  return /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/u.test(text);
}
