import type { Command } from 'commander';
import { buildGitLabRouting } from '../../core/routing/gitlab-routing.js';
import { storesNotUsedByReroute } from '../../core/routing/lint-routing.js';
import { loadClassMapping } from '../../core/routing/load-class-mapping.js';
import { parseQueueRenames } from '../../core/routing/parse-queue-renames.js';
import { InputError, inputErrorText } from '../../core/errors/input-error.js';
import { loadClassesFile } from '../../core/selection/load-classes-file.js';
import { loadRedisStores } from '../../core/selection/redis-stores.js';
import { readCaFile } from './connect-options.js';
import type { SelectionFlags } from '../../core/selection/resolve-selection.js';
import type { RoutingInput } from '../../core/workflow/workflow-input.js';

/** The routing options (`--catalog --rules`, `--mapping`, `--rename`), as a selection has them too. */
export type RoutingFlags = Pick<SelectionFlags, 'catalog' | 'rules' | 'environment' | 'environmentGiven' | 'mapping' | 'rename' | 'strict'>;

/**
 * The routing an execution gets, resolved here from the files given on the command line: rules
 * over a catalog become the class mapping GitLab would use (so catalogs of any size never travel
 * through the state machine), a mapping file is read and checked, renames are parsed. Warnings of
 * the rules review are returned for the caller to show.
 */
export function routingInputFromFlags(flags: RoutingFlags): { routing?: RoutingInput; warnings: string[] } {
  if (flags.rules !== undefined) {
    const routing = buildGitLabRouting({ catalogPaths: flags.catalog, rules: { path: flags.rules, environment: flags.environment, environmentGiven: flags.environmentGiven }, strict: flags.strict });
    return {
      // GitLab's live queues travel along: `--unmapped quarantine` must never empty `mailers`.
      routing: { kind: 'mapping', mapping: Object.fromEntries(routing.mapping), liveQueues: [...routing.liveQueues] },
      warnings: [...routing.catalog.warnings, ...[...routing.findings, ...storesNotUsedByReroute(routing.router.rules, routing.routes)].map((f) => f.message)],
    };
  }
  if (flags.mapping !== undefined) return { routing: { kind: 'mapping', mapping: Object.fromEntries(loadClassMapping(flags.mapping)) }, warnings: [] };
  if (flags.rename.length > 0) return { routing: { kind: 'renames', renames: Object.fromEntries(parseQueueRenames(flags.rename)) }, warnings: [] };
  return { warnings: [] };
}

/**
 * `--environment` when typed (not from the configuration file, which serves several commands, nor
 * where the section is for a redis.yml read too, `readsYml`): a plain-list rules file has no
 * sections, and is refused with it (loadRoutingRules), as other options that would do nothing are.
 */
export function environmentGivenBy(command: Command, completed: Record<string, unknown>, readsYml = false): string | undefined {
  if (completed['environment'] === undefined || readsYml) return undefined;
  return command.getOptionValueSource('environment') === 'cli' ? '--environment' : undefined;
}

const text = (value: unknown): value is string => typeof value === 'string' && value !== '';
const texts = (value: unknown): value is string[] => Array.isArray(value) && value.every(text);
// A blank section is refused as the option's problem (gitLabSection): no file is read under it.
const section = (value: unknown): value is string => text(value) && value.trim() !== '';

/**
 * The problems of the routing and classes files that options not yet validated name (a command's
 * options failed their schema), read as the command would read them next: rules over a catalog,
 * a mapping, a classes file, GitLab's redis.yml, the CA files. A file whose option is itself wrong
 * (empty, several routing forms) is not read: that option's problem is said already.
 */
export function fileProblemsOf(raw: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const attempt = (read: () => unknown) => {
    try {
      read();
    } catch (error) {
      if (error instanceof InputError) problems.push(inputErrorText(error));
    }
  };
  const catalog = raw['catalog'] ?? [];
  const rename = raw['rename'] ?? [];
  const forms = [raw['rules'] !== undefined, raw['mapping'] !== undefined, Array.isArray(rename) && rename.length > 0].filter(Boolean).length;
  const environment = raw['environment'] ?? 'production';
  if (forms === 1 && text(raw['rules']) && texts(catalog) && catalog.length > 0 && section(environment)) {
    attempt(() => buildGitLabRouting({ catalogPaths: catalog, rules: { path: raw['rules'] as string, environment }, strict: raw['strict'] === true }));
  }
  if (forms === 1 && text(raw['mapping'])) attempt(() => loadClassMapping(raw['mapping'] as string));
  if (text(raw['classesFile'])) attempt(() => loadClassesFile(raw['classesFile'] as string));
  if (text(raw['redisYml']) && section(environment)) attempt(() => loadRedisStores(raw['redisYml'] as string, environment));
  for (const ca of ['tlsCa', 'fromTlsCa', 'toTlsCa']) if (text(raw[ca])) attempt(() => readCaFile(raw[ca] as string));
  return problems;
}

/**
 * `--strict` and `--environment` typed without routing rules (`--rules`, on the command line or in
 * the configuration file's routing) did nothing, without a word: the user believed the rules
 * reviewed strictly, or read from another section. `redisYml`: the command reads GitLab's
 * redis.yml, whose section --environment picks too, when `reads` (an endpoint is a store name of
 * it: readsRedisYml). Only typed flags are refused: a configuration file serves several commands,
 * and its `strict` is for those that read rules.
 */
export function flagsWithoutRules(typed: Record<string, unknown>, given: Record<string, unknown>, redisYml?: { readonly reads: boolean }): string[] {
  if (given['rules'] !== undefined) return [];
  const problems: string[] = [];
  if (typed['strict'] === true) problems.push('--strict: only applies with --rules (it refuses rule queries GitLab accepts but that are probably mistakes): add --catalog and --rules, or leave --strict out');
  if (typed['environment'] !== undefined && !redisYml?.reads) {
    problems.push(
      redisYml
        ? `--environment: only applies with --rules or --redis-yml (the gitlab.yml or redis.yml section to read${given['redisYml'] !== undefined ? '; a redis.yml is read only for an endpoint given as a store name of it' : ''}): add them, or leave --environment out`
        : '--environment: only applies with --rules (the gitlab.yml section to read them from): add --catalog and --rules, or leave --environment out',
    );
  }
  return problems;
}
