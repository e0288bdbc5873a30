import type { Command } from 'commander';
import { STORE_NAME } from '../../core/config/selection-options.js';
import { hasSelection } from '../../core/selection/resolve-selection.js';

/**
 * Options typed on the command line, by their key. An option is refused where it does nothing only
 * when typed: a configuration file (or variable) serves several commands and runs, and its
 * settings are for those that read them (flagsWithoutRules' rule).
 */
export function typedOptions(command: Command): ReadonlySet<string> {
  return new Set(command.options.map((o) => o.attributeName()).filter((key) => command.getOptionValueSource(key) === 'cli'));
}

/**
 * A re-route's options that act on queue lists alone, typed with --no-queues (or `queues: false`):
 * `--append` places the jobs moved off a queue, and `--unmapped quarantine` takes only queued jobs
 * off their queue (a set's unmapped entries stay in their set: set-page.ts). Neither did anything,
 * without a word.
 */
export function queueOnlyOptions(typed: ReadonlySet<string>, given: Record<string, unknown>): string[] {
  if (given['queues'] !== false) return [];
  // The queue lists turned off where they were: typed, or the configuration file's (audit-review2:
  // the message named a --no-queues nobody typed).
  const off = typed.has('queues') ? '--no-queues' : '`queues: false` (the configuration file)';
  const leave = (option: string) => (typed.has('queues') ? `Leave ${option} or --no-queues out` : `Leave ${option} out, or give --queues`);
  const problems: string[] = [];
  if (typed.has('append')) problems.push(`--append: only applies to queue lists (it queues the jobs moved off a queue behind the destination's backlog), and ${off} leaves them alone: set entries stay in their set. ${leave('--append')}`);
  if (typed.has('unmapped') && given['unmapped'] === 'quarantine') {
    problems.push(`--unmapped quarantine: only queued jobs are quarantined (unmapped entries of the sets stay in their set, counted), and ${off} leaves the queue lists alone. ${leave('--unmapped')}`);
  }
  return problems;
}

/**
 * `--redis-yml` (and `--environment`, which picks its section) typed where no endpoint is a store
 * name: the file was read, and nothing looked a name up in it. `endpoints`: the option's key → how
 * it is typed (`--from`).
 */
export function redisYmlUnused(typed: ReadonlySet<string>, given: Record<string, unknown>, endpoints: Record<string, string>): string[] {
  if (given['redisYml'] === undefined || !typed.has('redisYml')) return [];
  const named = Object.keys(endpoints).some((key) => typeof given[key] === 'string' && STORE_NAME.test(given[key]));
  if (named) return [];
  const options = Object.values(endpoints);
  const them = options.length === 1 ? options[0]! : `${options.slice(0, -1).join(', ')} or ${options.at(-1)!}`;
  return [`--redis-yml: only applies when ${them} is a store name of it (main, queues_shard_…); ${options.length === 1 ? 'it is a URL' : 'each given is a URL'}, so nothing is looked up in it. Leave --redis-yml out`];
}

/** Whether the command will look a store name up in the redis.yml given (flagsWithoutRules' `redisYml`). */
export function readsRedisYml(given: Record<string, unknown>, endpoints: readonly string[]): boolean {
  return given['redisYml'] !== undefined && endpoints.some((key) => typeof given[key] === 'string' && STORE_NAME.test(given[key]));
}

/**
 * Where the deployed state machine is, typed where it is not looked for: `--stack` beside
 * `--state-machine` (the ARN is used as it is: find-state-machine.ts), and either beside an
 * execution given by its ARN (`watch`, `status`, `stop`: the ARN names the execution).
 */
export function stateMachineUnused(typed: ReadonlySet<string>, given: Record<string, unknown>, execution?: string): string[] {
  if (execution?.startsWith('arn:')) {
    return ['stateMachine', 'stack']
      .filter((key) => typed.has(key))
      .map((key) => `--${key === 'stack' ? 'stack' : 'state-machine'}: not with an execution ARN, which names the execution already: leave --${key === 'stack' ? 'stack' : 'state-machine'} out (or give the run id instead of the ARN)`);
  }
  if (typed.has('stack') && given['stateMachine'] !== undefined) return ['--stack: not with a state machine given (--state-machine, aws.stateMachine or $SIDEKIQ_MIGRATE_STATE_MACHINE), which is used as it is (the stack is only read to find it): leave one out'];
  return [];
}

/**
 * `drain-check`'s routing options typed without a selection, which they serve alone (`--store`;
 * with --classes or --classes-file, the classes the catalog does not know are warned of): the
 * rules were read and nothing used them. `--strict` with them, or alone (its "add --catalog and
 * --rules" would be refused next); `--environment` with them unless a redis.yml is read (alone it
 * may be for a redis.yml: flagsWithoutRules says so). The option keys named, and the refusal.
 */
export function rulesWithoutSelection(typed: ReadonlySet<string>, given: Record<string, unknown>, readsYml: boolean): { readonly keys: readonly string[]; readonly problems: string[] } {
  const none = { keys: [], problems: [] };
  const routing = given['rules'] !== undefined || given['catalog'] !== undefined;
  if (!routing && !typed.has('strict')) return none;
  const selected = hasSelection({ classes: given['classes'] as string | undefined, classesFile: given['classesFile'] as string | undefined, store: given['store'] as string | undefined });
  if (selected) return none;
  const named = (
    [
      ['catalog', '--catalog'],
      ['rules', '--rules'],
      ['strict', '--strict'],
      ['environment', '--environment'],
    ] as const
  ).filter(([key]) => typed.has(key) && (key !== 'environment' || (routing && !readsYml)));
  if (named.length === 0) return none;
  const options = named.map(([, option]) => option);
  return {
    keys: named.map(([key]) => key),
    problems: [`${options.join(', ')}: only ${named.length === 1 ? 'applies' : 'apply'} with a selection of classes (--store, --classes or --classes-file): without one the check reads no routing rules. Add a selection, or leave ${named.length === 1 ? 'it' : 'them'} out`],
  };
}

/** `move --password` with both Redis' own passwords typed or set (--from-password, --to-password): used for neither. */
export function passwordForNeither(typed: ReadonlySet<string>, given: Record<string, unknown>): string[] {
  if (!typed.has('password') || given['fromPassword'] === undefined || given['toPassword'] === undefined) return [];
  return ['--password: each Redis has its own here (--from-password, --to-password, or their variables), so it is used for neither: leave --password out'];
}
