import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { extractDefinition } from '../../infra/local/extract-definition.js';
import { synthesizeLocalWorkflow } from '../../infra/local/local-workflow-stack.js';
import { renderMermaid, type AslState, type AslStateMachine } from '../../infra/local/render-mermaid.js';
import { STATE_MACHINE_DOC, stateMachineDoc } from '../../scripts/state-machine-doc.js';
import { repoPath } from '../support/paths.js';

const { workflow } = synthesizeLocalWorkflow();
const definition = extractDefinition(workflow.stateMachine) as unknown as AslStateMachine;
const diagram = renderMermaid(definition);

// What the ASL says, read here without the renderer's helpers: every state (with the Map or
// Parallel state it runs in) and every transition.
interface Transition {
  from: string;
  to: string;
  kind: 'next' | 'choice' | 'default' | 'catch';
  errors?: readonly string[];
}
function aslStates(machine: AslStateMachine, parent?: string): { name: string; state: AslState; parent?: string }[] {
  return Object.entries(machine.States).flatMap(([name, state]) => {
    const inner = [state.ItemProcessor ?? state.Iterator, ...(state.Branches ?? [])].filter((m): m is AslStateMachine => m !== undefined);
    return [{ name, state, ...(parent === undefined ? {} : { parent }) }, ...inner.flatMap((m) => aslStates(m, name))];
  });
}
function aslTransitions(name: string, state: AslState): Transition[] {
  return [
    ...(state.Next !== undefined ? [{ from: name, to: state.Next, kind: 'next' as const }] : []),
    ...(state.Choices ?? []).map((c) => ({ from: name, to: c.Next!, kind: 'choice' as const })),
    ...(state.Default !== undefined ? [{ from: name, to: state.Default, kind: 'default' as const }] : []),
    ...(state.Catch ?? []).map((c) => ({ from: name, to: c.Next, kind: 'catch' as const, errors: c.ErrorEquals })),
  ];
}

// What the diagram says: nodes and subgraphs (id → state name, first line of the label, and the
// subgraph it is declared in), and edges.
const unescape = (s: string) => s.replace(/#quot;/g, '"').replace(/#lt;/g, '<').replace(/#gt;/g, '>').replace(/#36;/g, '$').replace(/#35;/g, '#');
function parseDiagram(text: string) {
  const nodes = new Map<string, { name: string; parent?: string }>();
  const edges: { from: string; to: string; arrow: string; label?: string }[] = [];
  const open: string[] = [];
  for (const line of text.split('\n')) {
    const subgraph = /^\s*subgraph (\w+)\["([^"]*)"\]$/.exec(line);
    const node = /^\s*(\w+)(?:\(\[|\[\[|\[|\{|\()"([^"]*)"/.exec(line);
    const edge = /^\s*(\w+) (-->|-\.->)(?:\|"([^"]*)"\|)? (\w+)$/.exec(line);
    const declared = subgraph ?? node;
    if (declared) nodes.set(declared[1]!, { name: unescape(declared[2]!).split(/<br\/>| · /)[0]!, ...(open.length ? { parent: open.at(-1)! } : {}) });
    if (subgraph) open.push(subgraph[1]!);
    if (/^\s*end$/.test(line)) open.pop();
    if (edge) edges.push({ from: edge[1]!, arrow: edge[2]!, to: edge[4]!, ...(edge[3] !== undefined ? { label: unescape(edge[3]) } : {}) });
  }
  return { nodes, edges };
}

describe('the state machine diagram (docs/state-machine.md)', () => {
  it('is committed as the renderer makes it from the current workflow', () => {
    const committed = existsSync(repoPath(STATE_MACHINE_DOC)) ? readFileSync(repoPath(STATE_MACHINE_DOC), 'utf8') : '(missing)';
    expect(committed, `${STATE_MACHINE_DOC} is out of date with the workflow: run \`npm run diagram\` and commit the result`).toBe(stateMachineDoc());
    expect(committed).toContain(`\`\`\`mermaid\n${diagram}\`\`\``);
  });

  it('shows every state, nested ones inside their Map, and every transition of the definition as an edge', () => {
    // Prepare
    const states = aslStates(definition);
    const expected = states.flatMap(({ name, state }) => aslTransitions(name, state));
    const { nodes, edges } = parseDiagram(diagram);
    const idOf = new Map([...nodes].map(([id, n]) => [n.name, id]));
    const nameOf = (id: string) => nodes.get(id)?.name;

    // Act: the edges between states, as state names.
    const stateEdges = edges.filter((e) => states.some((s) => s.name === nameOf(e.from)) && states.some((s) => s.name === nameOf(e.to)));

    // Assess
    expect(states.length).toBeGreaterThan(10);
    for (const { name, parent } of states) {
      expect(idOf.get(name), `state "${name}" is missing from the diagram`).toBeDefined();
      expect(nodes.get(idOf.get(name)!)!.parent, `state "${name}" is not inside its Map's block`).toBe(parent === undefined ? undefined : idOf.get(parent));
    }
    const key = (from: string, to: string) => `${from} → ${to}`;
    expect(stateEdges.map((e) => key(nameOf(e.from)!, nameOf(e.to)!)).sort()).toEqual(expected.map((t) => key(t.from, t.to)).sort());
    for (const t of expected) {
      const candidates = stateEdges.filter((e) => nameOf(e.from) === t.from && nameOf(e.to) === t.to);
      const edge = candidates.find((e) => (t.kind === 'catch') === (e.arrow === '-.->'));
      expect(edge, `${t.kind} edge ${key(t.from, t.to)}`).toBeDefined();
      if (t.kind === 'catch') for (const error of t.errors!) expect(edge!.label).toContain(error);
      if (t.kind === 'choice') expect(edge!.label, key(t.from, t.to)).toMatch(/\S/);
      if (t.kind === 'default') expect(edge!.label).toBe('otherwise');
    }
    // End states lead to an end marker; Fail states lead nowhere.
    for (const { name, state } of states) {
      const out = edges.filter((e) => e.from === idOf.get(name));
      if (state.End) expect(out.some((e) => !states.some((s) => s.name === nameOf(e.to))), `End state "${name}"`).toBe(true);
      if (state.Type === 'Fail') expect(out, `Fail state "${name}"`).toEqual([]);
    }
  });

  it('labels choices in plain words, and notes retries on the Lambda tasks', () => {
    expect(diagram).toContain('"mode = reroute and kind = set"');
    expect(diagram).toContain('"item done"');
    expect(diagram).toContain('"iteration ≥ maxIterations"');
    expect(diagram).toContain('"on any error (States.ALL)"');
    expect(diagram).toMatch(/\["Plan migration<br\/>Lambda<br\/>retries [^"]*RetryableError ×6/);
  });

  it('is valid-looking Mermaid, whatever the state names contain', () => {
    // A definition with what Mermaid could misread: quotes, angle brackets, '#', '$$', a keyword, a Parallel.
    const tricky: AslStateMachine = {
      StartAt: 'Say "hi" <b>#1</b>',
      States: {
        'Say "hi" <b>#1</b>': { Type: 'Pass', Next: 'end' },
        end: { Type: 'Choice', Choices: [{ Variable: '$.n', NumericLessThan: 3, Next: 'Both' } as never], Default: 'Done?' },
        Both: {
          Type: 'Parallel',
          Branches: [
            { StartAt: '$$ left', States: { '$$ left': { Type: 'Succeed' } } },
            { StartAt: 'right', States: { right: { Type: 'Wait', End: true } } },
          ],
          End: true,
        },
        'Done?': { Type: 'Fail' },
      },
    };
    for (const text of [diagram, renderMermaid(tricky)]) {
      const lines = text.trimEnd().split('\n');
      expect(lines[0]).toBe('flowchart TD');
      for (const line of lines) {
        const outsideLabels = line.replace(/"[^"]*"/g, '""');
        expect(outsideLabels.replace(/""/g, ''), line).not.toContain('"');
        for (const [, content] of line.matchAll(/"([^"]*)"/g)) {
          expect(content!.replace(/<br\/>/g, ''), line).not.toMatch(/[<>]|\$\$/);
        }
      }
      expect(lines.filter((l) => /^\s*subgraph /.test(l)).length).toBe(lines.filter((l) => /^\s*end$/.test(l)).length);
      const { nodes, edges } = parseDiagram(text);
      for (const id of nodes.keys()) expect(['end', 'subgraph', 'graph', 'flowchart', 'class', 'style', 'default']).not.toContain(id.toLowerCase());
      for (const e of edges) {
        expect(nodes.has(e.from), `edge from undeclared ${e.from}`).toBe(true);
        expect(nodes.has(e.to), `edge to undeclared ${e.to}`).toBe(true);
      }
    }
    expect(renderMermaid(tricky)).toContain('|"n #lt; 3"|');
  });
});
