import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { resumedExecutionName } from '../../cli/deployed/resumed-executions.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../cli/main.js';
import { realTime } from '../../cli/cli-context.js';
import { bufferIo } from '../support/buffer-io.js';
import { repoPath } from '../support/paths.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { redisMoveScenario } from './scenarios/redis-move-scenario.js';
import { rollbackScenario } from './scenarios/rollback-scenario.js';
import { routingChangeScenario } from './scenarios/routing-change-scenario.js';
import { sidekiqShardScenario } from './scenarios/sidekiq-shard-scenario.js';
import { cliParseError, recordedCommands } from './support/recorded-commands.js';
import { assertCovered, blocksOf, coverageLines, walkRunbook, type RunbookScenario } from './support/runbook-walk.js';

/*
 * The runbooks as tests: every fenced shell block of docs/runbooks/*.md is run in order, as
 * written, with bash, against throwaway redis-servers seeded as a GitLab instance keeps its
 * Sidekiq data, and what the runbook promises after each block is checked (the words shown, the
 * exit code, where every job is). Blocks that need GitLab or AWS are not run; their effect is
 * simulated. docs/runbooks/COVERAGE.md lists which test covers which block; it is checked here
 * (UPDATE_RUNBOOK_COVERAGE=1 rewrites it).
 */

const servers: RedisServerHandle[] = [];
const clients: Redis[] = [];
beforeAll(async () => {
  for (let i = 0; i < 6; i++) {
    const server = await startRedisServer();
    servers.push(server);
    clients.push(new Redis(server.url, { protocol: 2 }));
  }
});
afterAll(async () => {
  clients.forEach((c) => c.disconnect());
  await Promise.all(servers.map((s) => s.stop()));
});
/** Each scenario has servers of its own, so that the walks run at once. */
const redisAt = (i: number) => () => clients[i]!;
const urlAt = (i: number) => () => servers[i]!.url;

const scenarios: { name: string; scenario: RunbookScenario }[] = [
  { name: 'routing change, GitLab 16.5+ with prefixed leftovers', scenario: routingChangeScenario(redisAt(0), urlAt(0)) },
  { name: 'two wrong runs rolled back, resque:gitlab: prefix', scenario: rollbackScenario(redisAt(1), urlAt(1)) },
  { name: 'local transfer to a new Redis, resque:gitlab: prefix', scenario: redisMoveScenario(redisAt(2), redisAt(3), () => ({ old: servers[2]!.url, next: servers[3]!.url })) },
  { name: 'two classes of a shared queue to a shard and back', scenario: sidekiqShardScenario(redisAt(4), redisAt(5), () => ({ main: servers[4]!.url, shard: servers[5]!.url })) },
];

describe('runbooks, followed block by block', () => {
  for (const { name, scenario } of scenarios) {
    // Concurrent: most of a walk is waiting for the CLI, and each walk has its own servers.
    it.concurrent(`${scenario.runbook}: ${name}`, async () => {
      await walkRunbook(scenario);
    }, 900_000);
  }
});

describe('runbook coverage', () => {
  it('every shell block of every runbook has a step in a runbook test, and every step a block', () => {
    for (const { scenario } of scenarios) assertCovered(scenario);
  });

  it('names the execution of a resumed run as `start --resume` names it (the runbooks said RUN.2: no such execution exists)', () => {
    const docs = [...readdirSync(repoPath('docs/runbooks')).filter((f) => f.endsWith('.md')).map((f) => `docs/runbooks/${f}`), 'README.md'];
    const named = docs.flatMap((doc) => [...readFileSync(repoPath(doc), 'utf8').matchAll(/`(RUN[.-][^`\s]*)`/g)].map((m) => ({ doc, name: m[1]! })));
    const wrong = named.filter(({ name }) => !/^RUN-resume-(\d+|N)$/.test(name) || (/\d$/.test(name) && name !== resumedExecutionName('RUN', Number(name.split('-').at(-1)))));
    expect(named.length).toBeGreaterThan(0);
    expect(wrong).toEqual([]);
  });

  it('every sidekiq-migrate command of the blocks not run (AWS, GitLab) takes its options as the CLI does', async () => {
    const checked: string[] = [];
    const refused: { block: string; args: string; error: string }[] = [];
    for (const { scenario } of scenarios) {
      for (const block of blocksOf(scenario.runbook).filter((b) => b.kind === 'elsewhere' && b.code.includes('sidekiq-migrate'))) {
        const commands = recordedCommands(block.code, scenario.fixture);
        expect(commands, `${scenario.runbook} ${block.id}`).not.toEqual([]);
        for (const args of commands) {
          checked.push(`${block.id}: ${args.join(' ')}`);
          const error = await cliParseError(args);
          if (error !== null) refused.push({ block: `${scenario.runbook} ${block.id}`, args: args.join(' '), error });
        }
      }
    }
    expect(checked.length).toBeGreaterThanOrEqual(14);
    expect(refused).toEqual([]);
    // ~2 s alone (a CLI program built and parsed per command); 44 s at a load of 20 on 2 cores.
  }, 120_000);

  it('every command the prose of README.md and docs/ names in a code span (`start --resume RUN`, `drain-check --deployed …`) has the options it is shown with', () => {
    const program = buildProgram({ io: bufferIo(), exitCode: 0, handlersFor: () => { throw new Error('not run'); }, ...realTime });
    const global = program.options.map((o) => o.long!).concat('--help');
    const optionsOf = new Map(program.commands.map((c) => [c.name(), new Set([...c.options.map((o) => o.long!), ...global])]));
    const docs = ['README.md', ...readdirSync(repoPath('docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`), ...readdirSync(repoPath('docs/runbooks')).filter((f) => f.endsWith('.md')).map((f) => `docs/runbooks/${f}`)];
    const checked: string[] = [];
    const unknown: string[] = [];
    for (const doc of docs) {
      // Inline code spans only (a fenced block is run or parsed above); a span may go on over a line break.
      const prose = readFileSync(repoPath(doc), 'utf8').replace(/^```[\s\S]*?^```/gm, '');
      for (const [, span] of prose.matchAll(/(?<!`)`([^`]+)`(?!`)/g)) {
        const words = span!.replace(/\s+/g, ' ').trim().replace(/^sidekiq-migrate /, '').split(' ');
        const options = optionsOf.get(words[0]!);
        if (!options || words.length < 2 || !span!.includes('--')) continue;
        checked.push(`${doc}: ${span}`);
        for (const flag of span!.match(/(?<![\w-])--[a-z][a-z-]*/g) ?? []) if (!options.has(flag)) unknown.push(`${doc}: \`${span}\`: ${words[0]} has no ${flag}`);
      }
    }
    expect(checked.length).toBeGreaterThanOrEqual(60);
    expect(unknown).toEqual([]);
  });

  it('docs/runbooks/COVERAGE.md lists them as the tests do', () => {
    const header = [
      '# Which test runs which runbook block',
      '',
      'Generated from `test/runbooks/` (`UPDATE_RUNBOOK_COVERAGE=1 npx vitest run test/runbooks/runbooks.test.ts`',
      'rewrites it; the test fails when it is out of date). Every fenced shell block of the runbooks has',
      'an `id=` in its fence; `test/runbooks/runbooks.test.ts` follows each runbook in order against',
      'throwaway redis-servers seeded as a GitLab instance. *run*: run as written with bash, and its',
      'promised outcome checked; *values from the fixture*: the values an operator fills in, set by',
      "`test/fixtures/runbooks/<runbook>/env.sh`; *run (words filled in)*: run after the fixture's",
      '`replacements.json`; *not run*: needs GitLab (`gitlab-ctl`, `helm`, `kubectl`) or AWS;',
      'the test applies its effect on Redis where later blocks depend on it. Sidekiq processes are',
      'simulated heartbeats (`test/support/sidekiq-heartbeat.ts`), as Sidekiq 6.4 writes them.',
      '',
      '| runbook | block | how | test | what it checks |',
      '| --- | --- | --- | --- | --- |',
    ];
    const text = `${[...header, ...scenarios.flatMap(({ name, scenario }) => coverageLines(scenario, `${scenario.runbook}: ${name}`))].join('\n')}\n`;
    const path = repoPath('docs/runbooks/COVERAGE.md');
    if (process.env['UPDATE_RUNBOOK_COVERAGE'] === '1') writeFileSync(path, text);
    expect(readFileSync(path, 'utf8'), 'docs/runbooks/COVERAGE.md is out of date: UPDATE_RUNBOOK_COVERAGE=1 npx vitest run test/runbooks/runbooks.test.ts').toBe(text);
  });
});
