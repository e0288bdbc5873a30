/**
 * A Mermaid flowchart of an Amazon States Language definition (JSONPath), for docs/state-machine.md.
 * A pure function of the ASL JSON, so that the diagram is always the synthesized definition's and a
 * test can compare it with what is committed. A flowchart rather than a stateDiagram: Choice states
 * read as diamonds, a Map can be a subgraph with edges in and out, and labels can span lines.
 */

/** The part of ASL the diagram reads. */
export interface AslStateMachine {
  readonly StartAt: string;
  readonly States: Readonly<Record<string, AslState>>;
  readonly ProcessorConfig?: { readonly Mode?: string };
}

export interface AslState {
  readonly Type: string;
  readonly Next?: string;
  readonly End?: boolean;
  readonly Default?: string;
  readonly Choices?: readonly AslChoiceRule[];
  readonly Catch?: readonly { readonly ErrorEquals: readonly string[]; readonly Next: string }[];
  readonly Retry?: readonly AslRetrier[];
  readonly Resource?: string;
  readonly ItemProcessor?: AslStateMachine;
  /** The older name of ItemProcessor (inline Maps). */
  readonly Iterator?: AslStateMachine;
  readonly ItemsPath?: string;
  readonly MaxConcurrency?: number;
  readonly Branches?: readonly AslStateMachine[];
}

export interface AslRetrier {
  readonly ErrorEquals: readonly string[];
  readonly MaxAttempts?: number;
  readonly IntervalSeconds?: number;
  readonly BackoffRate?: number;
  readonly MaxDelaySeconds?: number;
  readonly JitterStrategy?: 'FULL' | 'NONE';
}

/** A Choice rule, or one of its nested conditions (no Next). */
export type AslChoiceRule = { readonly Next?: string; readonly Variable?: string; readonly And?: readonly AslChoiceRule[]; readonly Or?: readonly AslChoiceRule[]; readonly Not?: AslChoiceRule } & Readonly<Record<string, unknown>>;

/** A state and where it sits: `parent` is the Map or Parallel state it runs in, if any. */
export interface ListedState {
  readonly name: string;
  readonly state: AslState;
  readonly parent?: string;
}

/** Every state, nested ones included, in the order a reader follows them from StartAt. */
export function listStates(machine: AslStateMachine, parent?: string): ListedState[] {
  return orderStates(machine).flatMap((name) => {
    const state = machine.States[name]!;
    return [{ name, state, ...(parent === undefined ? {} : { parent }) }, ...innerMachines(state).flatMap((m) => listStates(m, name))];
  });
}

/** The states a state leads to, with how: Next, each Choice rule, Default, each Catch. */
export function transitions(state: AslState): { to: string; label?: string; caught?: readonly string[] }[] {
  const out: { to: string; label?: string; caught?: readonly string[] }[] = [];
  for (const rule of state.Choices ?? []) out.push({ to: rule.Next!, label: describeCondition(rule) });
  if (state.Default !== undefined) out.push({ to: state.Default, label: 'otherwise' });
  if (state.Next !== undefined) out.push({ to: state.Next });
  for (const c of state.Catch ?? []) out.push({ to: c.Next, label: describeCatch(c.ErrorEquals), caught: c.ErrorEquals });
  return out;
}

/** A Choice condition in plain words: "mode = reroute and kind = set", "iteration ≥ maxIterations". */
export function describeCondition(rule: AslChoiceRule): string {
  const compound = (r: AslChoiceRule) => (r.And || r.Or ? `(${describeCondition(r)})` : describeCondition(r));
  if (rule.And) return rule.And.map(compound).join(' and ');
  if (rule.Or) return rule.Or.map(compound).join(' or ');
  if (rule.Not) return `not ${compound(rule.Not)}`;
  if (typeof rule['Condition'] === 'string') return rule['Condition'];
  const variable = rule.Variable ?? '?';
  const operator = Object.keys(rule).find((k) => !NOT_OPERATORS.has(k)) ?? '?';
  const value = rule[operator];
  // A boolean flag reads best with its owner: `$.item.done` true → "item done".
  if (operator === 'BooleanEquals') return `${value === true ? '' : 'not '}${lastSegments(variable, 2)}`;
  if (operator === 'IsPresent') return `${lastSegments(variable, 2)} ${value === true ? 'present' : 'absent'}`;
  if (operator === 'IsNull') return `${lastSegments(variable, 2)} ${value === true ? 'is null' : 'is not null'}`;
  if (/^Is[A-Z]/.test(operator)) return `${lastSegments(variable, 2)} ${value === true ? 'is' : 'is not'} ${operator.slice(2).toLowerCase()}`;
  const base = operator.replace(/Path$/, '');
  const symbol = Object.entries(COMPARISONS).find(([suffix]) => base.endsWith(suffix))?.[1] ?? base;
  const right = operator.endsWith('Path') ? lastSegments(String(value), 1) : String(value);
  return `${lastSegments(variable, 1)} ${symbol} ${right}`;
}

// The keys of a Choice rule that are not its comparison operator.
const NOT_OPERATORS = new Set(['Variable', 'Next', 'Comment', 'Assign', 'Output']);

// Longest suffixes first: GreaterThanEquals before GreaterThan.
const COMPARISONS: Readonly<Record<string, string>> = {
  GreaterThanEquals: '≥',
  LessThanEquals: '≤',
  GreaterThan: '>',
  LessThan: '<',
  Equals: '=',
  Matches: 'matches',
};

function lastSegments(path: string, n: number): string {
  return path.replace(/^\$+\.?/, '').split('.').slice(-n).join(' ');
}

function describeCatch(errors: readonly string[]): string {
  return errors.length === 1 && errors[0] === 'States.ALL' ? 'on any error (States.ALL)' : `on ${errors.join(', ')}`;
}

/**
 * A Task's retries: "retries RetryableError ×6 · Lambda service errors ×6"; a retrier of no
 * attempts (it keeps its errors from a later retrier's wildcard) as "never retries N named errors".
 */
export function describeRetries(retry: readonly AslRetrier[]): string {
  const retried = retry.filter((r) => r.MaxAttempts !== 0).map((r) => `${describeErrors(r.ErrorEquals)} ×${r.MaxAttempts ?? 3}`);
  const never = retry.filter((r) => r.MaxAttempts === 0).map((r) => `never retries ${r.ErrorEquals.length === 1 ? r.ErrorEquals[0] : `${r.ErrorEquals.length} named errors`}`);
  return [...(retried.length > 0 ? [`retries ${retried.join(' · ')}`] : []), ...never].join(' · ');
}

/**
 * Names of errors, a family of service errors (CDK's Lambda.* retrier) in one phrase, any
 * `States.*` wildcard beside it named.
 */
export function describeErrors(errors: readonly string[]): string {
  const wildcards = errors.filter((e) => e.startsWith('States.'));
  const others = errors.filter((e) => !e.startsWith('States.'));
  const prefixes = new Set(others.map((e) => e.split('.')[0]));
  const [prefix] = prefixes;
  if (others.length > 1 && prefixes.size === 1 && others.every((e) => e.includes('.'))) return [`${prefix} service errors`, ...wildcards].join(', ');
  return errors.join(', ');
}

/** The Mermaid text (`flowchart TD`) of a state machine definition. */
export function renderMermaid(definition: AslStateMachine): string {
  const ids = new StateIds();
  const lines = ['flowchart TD'];
  const terminals: string[] = [];
  const failures: string[] = [];
  renderMachine(definition, undefined, '  ', ['Start', 'End']);
  lines.push('  classDef terminal fill:#eef,stroke:#557');
  lines.push('  classDef fail fill:#fde2e1,stroke:#c0392b');
  if (terminals.length) lines.push(`  class ${terminals.join(',')} terminal`);
  if (failures.length) lines.push(`  class ${failures.join(',')} fail`);
  return `${lines.join('\n')}\n`;

  /** `markers`: the labels of this machine's start and end: the execution's, each item's or each branch's. */
  function renderMachine(machine: AslStateMachine, owner: string | undefined, indent: string, markers: readonly [string, string]): void {
    const start = ids.marker(owner === undefined ? 'start' : `${owner} start`);
    const end = ids.marker(owner === undefined ? 'done' : `${owner} done`);
    const order = orderStates(machine);
    const ends = order.some((name) => machine.States[name]!.End === true);
    lines.push(`${indent}${start}(["${label([markers[0]])}"])`);
    terminals.push(start);
    for (const name of order) {
      const state = machine.States[name]!;
      const id = ids.of(name);
      const inner = innerMachines(state);
      if (inner.length === 0) {
        lines.push(`${indent}${id}${shape(state, label([name, ...details(state)]))}`);
        if (state.Type === 'Fail') failures.push(id);
        if (state.Type === 'Succeed') terminals.push(id);
        continue;
      }
      lines.push(`${indent}subgraph ${id}["${label([[name, ...details(state)].join(' · ')])}"]`);
      if (state.Type !== 'Parallel') renderMachine(inner[0]!, name, `${indent}  `, ['each item', 'item result']);
      else {
        inner.forEach((branch, i) => {
          const branchName = `${name} branch ${i + 1}`;
          lines.push(`${indent}  subgraph ${ids.marker(branchName)}["branch ${i + 1}"]`);
          renderMachine(branch, branchName, `${indent}    `, ['branch start', 'branch end']);
          lines.push(`${indent}  end`);
        });
      }
      lines.push(`${indent}end`);
    }
    if (ends) {
      lines.push(`${indent}${end}(["${label([markers[1]])}"])`);
      terminals.push(end);
    }
    // Edges last, inside the block of the machine they belong to (Mermaid keeps nodes where first declared).
    lines.push(`${indent}${start} --> ${ids.of(machine.StartAt)}`);
    for (const name of order) {
      const state = machine.States[name]!;
      for (const t of transitions(state)) {
        const arrow = t.caught ? '-.->' : '-->';
        lines.push(`${indent}${ids.of(name)} ${arrow}${t.label === undefined ? '' : `|"${label([t.label])}"|`} ${ids.of(t.to)}`);
      }
      if (state.End === true) lines.push(`${indent}${ids.of(name)} --> ${end}`);
    }
  }
}

function innerMachines(state: AslState): readonly AslStateMachine[] {
  const processor = state.ItemProcessor ?? state.Iterator;
  return processor ? [processor] : (state.Branches ?? []);
}

/** The lines under a state's name: what it runs, how it retries. */
function details(state: AslState): string[] {
  const out: string[] = [];
  if (state.Type === 'Task') out.push(describeResource(state.Resource ?? ''));
  if (state.Type === 'Map') {
    const mode = (state.ItemProcessor ?? state.Iterator)?.ProcessorConfig?.Mode === 'DISTRIBUTED' ? 'Distributed Map' : 'Map';
    const over = state.ItemsPath ? ` over ${state.ItemsPath}` : '';
    out.push(`${mode}${over}${state.MaxConcurrency ? `, ${state.MaxConcurrency} at a time` : ''}`);
  }
  if (state.Type === 'Parallel') out.push('Parallel');
  if (state.Type === 'Fail') out.push('Fail');
  if (state.Retry?.length) out.push(describeRetries(state.Retry));
  return out;
}

function describeResource(resource: string): string {
  if (/^arn:[^:]+:lambda:.*:function:/.test(resource) || resource === 'arn:aws:states:::lambda:invoke') return 'Lambda';
  // Service integrations: arn:aws:states:::states:startExecution → "states:startExecution".
  const integration = /^arn:[^:]+:states:::(.+)$/.exec(resource);
  return integration ? integration[1]! : 'Task';
}

function shape(state: AslState, text: string): string {
  if (state.Type === 'Choice') return `{"${text}"}`;
  if (state.Type === 'Pass' || state.Type === 'Wait') return `("${text}")`;
  if (state.Type === 'Fail' || state.Type === 'Succeed') return `(["${text}"])`;
  return `["${text}"]`;
}

/**
 * Label text for inside `"…"`: Mermaid has no backslash escapes, only entity codes (#quot;), and
 * reads `<…>` as HTML; `<br/>` separates lines.
 */
export function label(parts: readonly string[]): string {
  // `$$` would open KaTeX math in recent Mermaid.
  const escape = (s: string) => s.replace(/#/g, '#35;').replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;').replace(/\$\$/g, '#36;#36;');
  return parts.map(escape).join('<br/>');
}

/** States from StartAt, breadth first along their transitions (as a reader follows them), then any unreachable ones. */
function orderStates(machine: AslStateMachine): string[] {
  const seen = new Set<string>();
  const reach = (from: string[]): void => {
    for (let i = 0; i < from.length; i++) {
      const name = from[i]!;
      if (seen.has(name) || !machine.States[name]) continue;
      seen.add(name);
      from.push(...transitions(machine.States[name]!).map((t) => t.to));
    }
  };
  reach([machine.StartAt]);
  reach(Object.keys(machine.States));
  return [...seen];
}

/** Mermaid ids from state names ("Is this item done?" → isThisItemDone), unique, never a keyword. */
class StateIds {
  private readonly byName = new Map<string, string>();
  private readonly used = new Set<string>();

  of(name: string): string {
    let id = this.byName.get(name);
    if (id === undefined) {
      id = this.unique(camel(name));
      this.byName.set(name, id);
    }
    return id;
  }

  /** An id for a node that is not a state (start and end markers). */
  marker(text: string): string {
    return this.unique(`${camel(text)}_`);
  }

  private unique(base: string): string {
    const root = RESERVED.has(base.toLowerCase()) || /^[^a-z]/i.test(base) ? `s_${base}` : base;
    let id = root;
    for (let n = 2; this.used.has(id); n++) id = `${root}${n}`;
    this.used.add(id);
    return id;
  }
}

const RESERVED = new Set(['end', 'graph', 'flowchart', 'subgraph', 'style', 'class', 'classdef', 'click', 'linkstyle', 'default', 'direction', 'call', 'href']);

function camel(text: string): string {
  const words = text.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return words.map((w, i) => (i === 0 ? w.charAt(0).toLowerCase() + w.slice(1) : w.charAt(0).toUpperCase() + w.slice(1))).join('') || 'state';
}
