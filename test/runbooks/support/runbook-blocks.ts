import { readFileSync } from 'node:fs';

/**
 * The fenced shell blocks of a runbook, in order. The fence's info string says how the runbook
 * test treats a block (GitHub renders all of them as `sh`):
 *
 * - ```sh id=NAME               run as written, with bash, against the test's Redis servers;
 * - ```sh placeholders id=NAME  the values the operator fills in: not run, the runbook fixture's
 *                               env.sh defines the same variables instead;
 * - ```sh edit id=NAME          an example with a word the operator replaces (e.g. OLDQUEUE): run
 *                               after the fixture's replacements;
 * - ```sh elsewhere id=NAME     needs what a test machine does not have (gitlab-ctl, helm, AWS):
 *                               not run; the test simulates its effect where later steps depend
 *                               on it.
 */
export type BlockKind = 'run' | 'placeholders' | 'edit' | 'elsewhere';

export interface RunbookBlock {
  readonly runbook: string;
  readonly id: string;
  readonly kind: BlockKind;
  readonly code: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
}

const SHELL_LANGUAGES = new Set(['sh', 'bash', 'shell', 'zsh', 'console']);
const KINDS: ReadonlySet<string> = new Set(['placeholders', 'edit', 'elsewhere']);

/** Every shell block of `path`; throws, naming the line, on a shell block without `id=`. */
export function runbookBlocks(path: string, runbook: string): RunbookBlock[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const blocks: RunbookBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,})(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, info] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !lines[j]!.trimStart().startsWith(fence!); j++) body.push(lines[j]!.startsWith(indent!) ? lines[j]!.slice(indent!.length) : lines[j]!);
    const words = info!.trim().split(/\s+/).filter(Boolean);
    if (SHELL_LANGUAGES.has(words[0] ?? '')) {
      const id = words.find((w) => w.startsWith('id='))?.slice(3);
      if (!id) throw new Error(`${runbook}:${i + 1}: a shell block without an id= in its fence info string (see test/runbooks/support/runbook-blocks.ts)`);
      const kind = (words.find((w) => KINDS.has(w)) ?? 'run') as BlockKind;
      blocks.push({ runbook, id, kind, code: body.join('\n'), line: i + 1 });
    }
    i = j;
  }
  const seen = new Set<string>();
  for (const b of blocks) {
    if (seen.has(b.id)) throw new Error(`${runbook}:${b.line}: block id ${b.id} is used twice`);
    seen.add(b.id);
  }
  return blocks;
}

/** The variables a placeholders block assigns (`export X=…`, `X=…`, `X=(…)`). */
export function assignedVariables(code: string): string[] {
  return [...code.matchAll(/^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=/gm)].map((m) => m[1]!);
}
