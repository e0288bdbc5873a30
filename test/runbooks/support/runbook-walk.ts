import type { Redis } from 'ioredis';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { repoPath } from '../../support/paths.js';
import { stopAllSidekiqs } from './gitlab-instance.js';
import { assignedVariables, runbookBlocks, type RunbookBlock } from './runbook-blocks.js';
import { prepareWorkDir, runShellBlock, type BlockResult } from './run-shell-block.js';

/** What following one block of a runbook must show, and what the world does around it. */
export interface BlockStep {
  /** One line for COVERAGE.md: what the test checks (run blocks) or simulates (elsewhere). */
  readonly covers: string;
  /** Before the block runs (e.g. seed what an earlier, simulated, step would have produced). */
  readonly before?: (ctx: WalkContext) => Promise<void>;
  /** Exit code the runbook promises (default 0). */
  readonly exitCode?: number;
  /** Text the runbook says to look for in the output (stdout + stderr). */
  readonly shows?: readonly (string | RegExp)[];
  readonly doesNotShow?: readonly (string | RegExp)[];
  /** After it ran: jobs where they should be, files written, and so on. */
  readonly after?: (ctx: WalkContext, result: BlockResult) => Promise<void>;
  /** For an `elsewhere` block: its effect on Redis, as GitLab would have it. */
  readonly simulate?: (ctx: WalkContext) => Promise<void>;
}

export interface WalkContext {
  readonly dir: string;
  /** Runs code as a runbook block would run (for checks the runbook says to repeat). */
  shell(code: string): Promise<BlockResult>;
  file(name: string): string;
}

export interface RunbookScenario {
  /** e.g. `routing-change.md` under docs/runbooks/. */
  readonly runbook: string;
  /** Fixture directory under test/fixtures/runbooks/ (env.sh, files, replacements.json). */
  readonly fixture: string;
  /** Extra files to copy into the working directory: name there → repository path. */
  readonly files?: Readonly<Record<string, string>>;
  /** Environment for the blocks (the Redis URLs the fixture's env.sh reads). */
  readonly env: () => Record<string, string>;
  /** The scenario's own servers: emptied before the walk, their simulated processes stopped after. */
  readonly redises: () => readonly Redis[];
  readonly steps: Readonly<Record<string, BlockStep>>;
}

export function blocksOf(runbook: string): RunbookBlock[] {
  return runbookBlocks(repoPath(`docs/runbooks/${runbook}`), runbook);
}

/** Every block has a step and every step a block: a runbook change cannot slip past the test. */
export function assertCovered(scenario: RunbookScenario): void {
  const ids = blocksOf(scenario.runbook).map((b) => b.id);
  const missing = ids.filter((id) => !(id in scenario.steps));
  const stale = Object.keys(scenario.steps).filter((id) => !ids.includes(id));
  expect({ blocksWithoutATest: missing, testsWithoutABlock: stale }).toEqual({ blocksWithoutATest: [], testsWithoutABlock: [] });
}

/** Follows the runbook block by block, in a fresh working directory, as an operator would. */
export async function walkRunbook(scenario: RunbookScenario): Promise<void> {
  const fixtureDir = repoPath(`test/fixtures/runbooks/${scenario.fixture}`);
  const dir = mkdtempSync(join(tmpdir(), `runbook-${scenario.fixture}-`));
  let passed = false;
  await Promise.all(scenario.redises().map((r) => r.flushall()));
  try {
    cpSync(fixtureDir, dir, { recursive: true });
    for (const [name, from] of Object.entries(scenario.files ?? {})) cpSync(repoPath(from), join(dir, name));
    const { bin } = prepareWorkDir(dir);
    const envFile = join(dir, 'env.sh');
    const fixtureVars = assignedVariables(readFileSync(envFile, 'utf8'));
    const replacementsFile = join(dir, 'replacements.json');
    const replacements = existsSync(replacementsFile) ? (JSON.parse(readFileSync(replacementsFile, 'utf8')) as Record<string, Record<string, string>>) : {};
    const shell = (code: string) => runShellBlock(code, { dir, envFile, bin, env: scenario.env() });
    const ctx: WalkContext = { dir, shell, file: (name) => readFileSync(join(dir, name), 'utf8') };
    for (const block of blocksOf(scenario.runbook)) {
      const step = scenario.steps[block.id];
      const where = `${scenario.runbook}:${block.line} (${block.id})`;
      if (!step) throw new Error(`${where}: no step in the runbook test`);
      if (block.kind === 'placeholders') {
        expect(fixtureVars, `${where}: the fixture's env.sh must set every placeholder`).toEqual(expect.arrayContaining(assignedVariables(block.code)));
        continue;
      }
      if (block.kind === 'elsewhere') {
        await step.simulate?.(ctx);
        continue;
      }
      let code = block.code;
      for (const [word, value] of Object.entries(replacements[block.id] ?? {})) code = code.split(word).join(value);
      if (block.kind === 'edit') expect(Object.keys(replacements[block.id] ?? {}), `${where}: replacements.json names the words to fill in`).not.toEqual([]);
      await step.before?.(ctx);
      const result = await shell(code);
      const output = `${result.stdout}\n${result.stderr}`;
      const context = `${where}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
      expect(result.exitCode, context).toBe(step.exitCode ?? 0);
      for (const text of step.shows ?? []) {
        if (typeof text === 'string') expect(output, context).toContain(text);
        else expect(output, context).toMatch(text);
      }
      for (const text of step.doesNotShow ?? []) {
        if (typeof text === 'string') expect(output, context).not.toContain(text);
        else expect(output, context).not.toMatch(text);
      }
      await step.after?.(ctx, result);
    }
    passed = true;
  } finally {
    await stopAllSidekiqs(scenario.redises());
    if (passed) rmSync(dir, { recursive: true, force: true });
    else console.error(`runbook working directory kept for inspection: ${dir}`);
  }
}

/** The lines of COVERAGE.md for one runbook: each block, how it is treated, what covers it. */
export function coverageLines(scenario: RunbookScenario, testName: string): string[] {
  return blocksOf(scenario.runbook).map((b) => {
    const how = { run: 'run', edit: 'run (words filled in)', placeholders: 'values from the fixture', elsewhere: 'not run' }[b.kind];
    return `| ${scenario.runbook} | \`${b.id}\` | ${how} | ${testName} | ${scenario.steps[b.id]?.covers ?? '**NOT COVERED**'} |`;
  });
}
