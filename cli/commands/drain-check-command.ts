import type { Command } from 'commander';
import type { z } from 'zod';
import { drainCheckOptionsSchema } from '../../core/config/drain-check-options.js';
import { readInputFile } from '../../core/config/read-input-file.js';
import { validateConfigAndFiles } from '../../core/config/validate-config.js';
import { environmentGivenBy, fileProblemsOf, flagsWithoutRules } from '../workflow/routing-input.js';
import { drainCheckBudget } from '../../core/drain/check-budget.js';
import { drainCheck } from '../../core/drain/drain-check.js';
import { lookAtMoveTarget } from '../../core/drain/move-target.js';
import { withNoSidekiqData } from '../../core/drain/no-sidekiq-data.js';
import { DRAIN_CHECK_FUNCTION_TIMEOUT_SECONDS } from '../../infra/constructs/function-timeouts.js';
import type { DrainReport } from '../../core/drain/drain-report.js';
import { abandonedForGood, cronOfUnknownQueue, cronPushingToRetiredQueues, jobsNobodyWillRun, unrunElsewhere } from '../../core/drain/judge-drain.js';
import { InputError, inputErrorText } from '../../core/errors/input-error.js';
import { checkSidekiqPrefixLook } from '../../core/redis/sidekiq-prefixes.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import type { CliContext } from '../cli-context.js';
import { optionsWithConfig } from '../config/options-with-config.js';
import { checkOutputFile, writeOutputFile } from '../support/output-file.js';
import { invokeDrainCheck } from '../deployed/invoke-drain-check.js';
import { connectOptions, refuseCaWithoutTls } from '../workflow/connect-options.js';
import { renderDrainReport } from '../workflow/render-drain-report.js';
import { countSelectedJobs } from '../../core/selection/count-selected-jobs.js';
import { withRunningSelected } from '../../core/selection/running-selected.js';
import { confirmSelection } from '../../core/selection/confirm-selection.js';
import { printable } from '../../core/redis/key-name.js';
import { censusProcesses } from '../../core/drain/live-processes.js';
import { judgeSelection, type SelectionDrain } from '../../core/selection/judge-selection.js';
import { hasSelection, resolveClassSelection, type ClassSelection } from '../../core/selection/resolve-selection.js';
import { SORTED_SET_NAMES } from '../../core/redis/sidekiq-keys.js';
import { collect } from '../collect.js';
import { screenWidth } from '../workflow/fit.js';
import { renderSelectionPlan } from '../workflow/render-selection-plan.js';
import { endpointCaFiles, endpointRefusals, endpointUrls } from '../workflow/selection-input.js';
import { readsRedisYml, redisYmlUnused, rulesWithoutSelection, typedOptions } from '../workflow/ignored-options.js';

/** Exit code when jobs exist that nobody will run: lets a pipeline stop on it. */
export const ORPHANS_EXIT_CODE = 3;

/** Exit code when the target of the move the check was given lost what it moved: the move failed. */
export const TARGET_LOST_EXIT_CODE = 1;

/**
 * 1 when the check was given a move (--run-id, --to) whose target lost what it moved (said first); 3 when jobs exist that nobody will run as things stand: orphans, jobs in quarantine lists, jobs
 * in flight from interrupted transfers, jobs under another prefix where no Sidekiq process runs; 1 when set entries were estimated rather than counted, or the
 * queues were not all read in the check's time, or a look over the keyspace was cut short, or the look for private lists stopped at its limit, or live processes were not heard beating twice after nothing was found (no verdict to go on); 0 otherwise.
 */
export function drainExitCode(report: DrainReport): number {
  // The move's target lost what it moved (move-target.ts): failed, whatever is left here.
  if (report.moveTarget?.lost) return TARGET_LOST_EXIT_CODE;
  if (jobsNobodyWillRun(report) > 0 || report.inflight.length > 0 || abandonedForGood(report).length > 0 || cronPushingToRetiredQueues(report).length > 0 || unrunElsewhere(report).length > 0) {
    return ORPHANS_EXIT_CODE;
  }
  // Not a verdict either: a look over the keyspace that the check's time stopped, or the look for private lists its limit did.
  return Object.values(report.sets).some((s) => s.orphanedEstimated) || report.keyspaceLookCutShort !== undefined || report.fetchedListsCutShort !== undefined || report.queuesCutShort !== undefined || report.beatWait?.unconfirmed !== undefined || (report.cronUnread !== undefined && report.retiredQueues !== undefined) || cronOfUnknownQueue(report).length > 0 ? 1 : 0;
}

export function registerDrainCheckCommand(program: Command, ctx: CliContext): void {
  program
    .command('drain-check')
    .summary('what is left on a Redis, and whether anyone will ever run it')
    .description(
      'Reports per queue its depth, the age of its oldest job and its live listeners (from the processes set and their heartbeats), per set what comes due and what will land on a queue nobody fetches, jobs left in flight by interrupted transfers, jobs in quarantine lists, jobs workers took and did not finish (the private lists of GitLab reliable fetch and Sidekiq Pro super_fetch), and a verdict: drained, draining (with rate and ETA given --previous) or stuck. Set entries are counted (up to 1,000,000 per set; beyond, estimated and exit code 1). Reads only. With --deployed, the drain check function of the deployment runs it from inside the VPC (it compares with, and remembers, its last check). Lists sidekiq-cron definitions and the queue each pushes to. Exit code 3 when jobs exist that nobody will run (orphans, quarantined, in flight, or taken by workers that are gone while no live process is left to put them back; under another prefix, its jobs where no Sidekiq process runs and its jobs in flight or quarantined), or, with --retired-queues, an enabled cron definition still pushes to one of them. A stuck verdict without such jobs (no progress since --previous, jobs still arriving on retired queues) exits 0. With a selection (--classes, --classes-file, --store), exit code 1 while any of their jobs is left here (3 still wins). With --retired-queues, an enabled cron definition whose queue cannot be known (a message it cannot read, or neither message nor queue field) is named and the check is not drained: exit code 1.',
    )
    .option('--redis <url>', 'the Redis to check')
    .option('--namespace <prefix>', 'Sidekiq key prefix (redis-namespace)')
    .option('--previous <file>', 'the JSON report of the previous check (for rate, ETA and arrivals)')
    .option('--save <file>', 'write this check as JSON, to pass as --previous next time')
    .option('--retired-queues <list>', 'queues that should receive nothing any more (routing change), comma-separated (spaces around names ignored, none empty): arrivals are reported')
    .option('--run-id <id>', 'a move out of this Redis (its run id, as its summary printed it): also look at its target (--to; with --deployed, the deployment\'s), and say when it lost what the move wrote there (exit code 1, never DRAINED)')
    .option('--to <url>', 'with --run-id: the Redis that move wrote to (or its store name, with --redis-yml)')
    .option('--to-namespace <prefix>', 'with --to: its key prefix (default: the same as --namespace)')
    .option('--to-password <password>', 'with --to: its password (default: --password); better: $SIDEKIQ_MIGRATE_TO_PASSWORD')
    .option('--to-tls-ca <file>', 'with --to: CA certificate(s) to trust for it only (added to --tls-ca)')
    .option('--tls-ca <file>', "CA certificate(s) to trust for rediss:// (PEM), besides Node's default CAs")
    .option('--password <password>', 'the Redis password, apart from the URL; better: $SIDEKIQ_MIGRATE_PASSWORD')
    .option('--time-limit <seconds>', `seconds the check may take before its reads of queues and sets and its looks over the keyspace stop, saying what they did not reach (default ${DRAIN_CHECK_FUNCTION_TIMEOUT_SECONDS}, as the deployed check; more to look at a large Redis in full)`)
    .option('--json', 'print the report as JSON')
    .option('--deployed', "run the deployment's drain check now (AWS Lambda, inside the VPC), as its schedule does")
    .option('--connection <name>', "with --deployed: the deployment's connection to check (default: the one its schedule checks)")
    .option('--function <name>', "with --deployed: the drain check function (default: the stack's DrainCheckFunctionName output)")
    .option('--stack <name>', 'with --deployed, without --function: the deployed CloudFormation stack (default: SidekiqMigrate)')
    .option('--region <region>', "with --deployed: the AWS region (default: the SDK's)")
    .option('--classes <list>', 'also report what is left of these worker classes (exact names, comma-separated, spaces around them ignored, none empty), per class and per set and queue')
    .option('--classes-file <file>', 'the same for the classes of a JSON/YAML file (a list, or a mapping "Class": "queue")')
    .option('--store <name>', "with --catalog and --rules: the same for the workers whose first matching rule names this store (main: none)")
    .option('--catalog <file>', "with a selection: GitLab's app/workers/all_queues.yml, with --rules (repeat to add the EE catalog)", collect)
    .option('--rules <file>', 'with a selection: GitLab routing rules (for --store, or to check --classes against the catalog): a JSON/YAML list of [query, queue(, store)], or a gitlab.yml')
    .option('--environment <name>', 'the gitlab.yml and redis.yml section to read (default: production)')
    .option('--strict', 'refuse queries GitLab accepts but that are probably mistakes')
    .option('--redis-yml <file>', "GitLab's config/redis.yml, for --redis (or --to) given as a store name of it (main, queues_shard_…)")
    .action(async (raw: Record<string, unknown>, command: Command) => {
      // The environment and the file complete only the settings of the kind of check asked for.
      // The move's target is looked at only when --run-id is typed: a `to`, `runId` or
      // $SIDEKIQ_MIGRATE_TO_PASSWORD kept for `move` (the file, the environment) never turns it on.
      const moveTarget = ['to', 'toNamespace', 'toPassword', 'toTlsCa'];
      const lookAtTarget = raw['runId'] !== undefined && !raw['deployed'];
      const ignore = [...(raw['deployed'] ? ['redis', 'namespace', 'tlsCa', 'password', 'timeLimit'] : ['stack', 'region']), ...(lookAtTarget ? [] : moveTarget), ...(raw['runId'] === undefined ? ['runId'] : [])];
      const completed = optionsWithConfig(command, raw, process.env, { ignore });
      const environmentGiven = environmentGivenBy(command, completed, readsRedisYml(completed, ['redis', 'to']));
      const options = validateConfigAndFiles(drainCheckOptionsSchema, completed, (given) => [...fileProblemsOf(filesItReads(given)), ...previousProblems(given), ...saveProblems(given)], (given) => [
        ...withoutSelectionOnce(raw, given, typedOptions(command), readsRedisYml(given, ['redis', 'to'])),
        ...(given['deployed'] ? deployedFunctionRefusals(typedOptions(command), given) : redisYmlUnused(typedOptions(command), given, { redis: '--redis', to: '--to' })),
        ...(given['deployed'] ? [] : endpointRefusals(given, { redis: '--redis', to: '--to' }, { tlsCa: ['redis', 'to'], toTlsCa: ['to'] }, { sides: { redis: ['password'], to: ['toPassword', 'password'] }, typed: typedOptions(command) })),
      ]);
      // Files are read and names resolved before anything connects.
      const redis = options.redis === undefined ? undefined : endpointUrls(options.redisYml, options.environment, { redis: { value: options.redis, option: '--redis' } }).redis;
      const to = options.to === undefined ? undefined : endpointUrls(options.redisYml, options.environment, { to: { value: options.to, option: '--to' } }).to;
      const storeCas = options.deployed ? {} : endpointCaFiles(options.redisYml, options.environment, { redis: options.redis, to: options.to });
      if (options.save) checkOutputFile(options.save, 'drain report');
      const selection = hasSelection(options) ? resolveClassSelection({ ...options, rename: [], environmentGiven }) : undefined;
      if (selection && !options.json) for (const w of selection.warnings) ctx.io.err(`warning: ${w}\n`);
      const checked = options.deployed ? { report: await deployedCheck(options) } : await localCheck({ ...options, redis, to }, ctx.now().getTime(), ctx.io.err, selection, storeCas);
      const { report, selected } = checked as { report: DrainReport; selected?: { selection: SelectionDrain; view: string } };
      if (options.json) ctx.io.out(`${JSON.stringify(selected ? { ...report, selection: selected.selection } : report)}\n`);
      else ctx.io.out(renderDrainReport(report) + (selected ? `\n${selected.view}` : ''));
      // After the report is shown: a file that stopped being writable since the check above loses nothing.
      if (options.save) writeOutputFile(options.save, `${JSON.stringify(report)}\n`, 'drain report');
      // Selected jobs left (the move is not finished): never 0.
      ctx.exitCode = Math.max(drainExitCode(report), selected && !selected.selection.drained ? SELECTION_LEFT_EXIT_CODE : 0);
    });
}

type DrainCheckOptions = z.output<typeof drainCheckOptionsSchema>;

/**
 * The options naming files the check reads: the routing's catalog and rules only for a selection
 * (a configuration file serves several commands, its routing is run's and move's). Read anyway,
 * they refused a check without a selection over files it never opens (audit-reviewb).
 */
function filesItReads(given: Record<string, unknown>): Record<string, unknown> {
  const selected = hasSelection({ classes: given['classes'] as string | undefined, classesFile: given['classesFile'] as string | undefined, store: given['store'] as string | undefined });
  return selected ? given : Object.fromEntries(Object.entries(given).filter(([key]) => key !== 'catalog' && key !== 'rules'));
}

/**
 * --strict and --environment typed without rules (flagsWithoutRules) and the routing options typed
 * without a selection (rulesWithoutSelection), each said once: with a catalog or rules and no
 * selection, rulesWithoutSelection names them, whose advice (a selection) is the one that helps;
 * flagsWithoutRules' "add --rules" would be refused next (audit-review2: both were said).
 */
function withoutSelectionOnce(raw: Record<string, unknown>, given: Record<string, unknown>, typed: ReadonlySet<string>, readsYml: boolean): string[] {
  const noSelection = rulesWithoutSelection(typed, given, readsYml);
  const rest = Object.fromEntries(Object.entries(raw).filter(([key]) => !noSelection.keys.includes(key)));
  return [...flagsWithoutRules(rest, given, { reads: readsYml }), ...noSelection.problems];
}

/** `--stack` beside `--function`: the stack is only read to find the function (invoke-drain-check.ts). */
function deployedFunctionRefusals(typed: ReadonlySet<string>, given: Record<string, unknown>): string[] {
  return typed.has('stack') && given['function'] !== undefined ? ['--stack: not with --function, which names the drain check function (the stack is only read to find it): leave one out'] : [];
}

/** Jobs of the selection that live workers hold: what to do about them, which is not to move again. */
function workingNote(working: number): string {
  if (working === 0) return '';
  return ` ${working} of them are held by live workers (in their private lists, or running where only their heartbeat shows them): being worked now, they finish there (or go back to their queue if the worker dies); a move does not take them, so wait, then check again.`;
}

/** Exit code when jobs of the selected classes are still on the Redis checked (the move did not finish). */
export const SELECTION_LEFT_EXIT_CODE = 1;

/** The check run here, against a Redis this machine reaches (directly or through a tunnel); with a selection, what is left of it. */
async function localCheck(options: DrainCheckOptions, started: number, warn: (text: string) => void, selection?: ClassSelection, storeCas: { redis?: string | undefined; to?: string | undefined } = {}): Promise<{ report: DrainReport; selected?: { selection: SelectionDrain; view: string } }> {
  const previous = options.previous ? readPrevious(options.previous) : undefined;
  refuseCaWithoutTls('--tls-ca', options.tlsCa, [options.redis, options.to]);
  if (options.to !== undefined) refuseCaWithoutTls('--to-tls-ca', options.toTlsCa, [options.to]);
  const connect = connectOptions({ password: options.password, caFiles: [options.tlsCa, storeCas.redis] }, 'read', warn);
  const connections = new UrlConnections({
    Redis: { url: options.redis!, prefix: options.namespace, connect },
    ...(options.to !== undefined ? { Target: { url: options.to, prefix: options.toNamespace ?? options.namespace, connect: connectOptions({ password: options.toPassword ?? options.password, caFiles: [options.tlsCa, options.toTlsCa, storeCas.to] }, 'read', warn) } } : {}),
  });
  try {
    const source = await connections.get('Redis');
    const { redis, keys, name } = source;
    // "DRAINED" under a wrong prefix would send an operator on: refused when Sidekiq data is elsewhere.
    // Bounded as the deployed check is, by its function's timeout (check-budget.ts): local behaves like AWS.
    const seconds = options.timeLimit ?? DRAIN_CHECK_FUNCTION_TIMEOUT_SECONDS;
    const { dataLookUntil, readQueuesUntil, readSetsUntil, rereadSetsUntil, lookUntil, beatsUntil } = drainCheckBudget(started, seconds * 1000);
    const moreTime = `To look at all of it, give the check more time: --time-limit SECONDS (this check had ${seconds} s${options.timeLimit === undefined ? ", the deployed check's bound" : ''}).`;
    const dataLook = await checkSidekiqPrefixLook(redis, keys, { name, option: '--namespace' }, { until: dataLookUntil });
    if (previous && options.previous) checkSameScope(options.previous, previous, { redis: name, prefix: keys.prefix, retiredQueues: options.retiredQueues });
    // The move's target, before the check's looks: a run id this Redis has no record of is bad input.
    const moveTarget = options.runId !== undefined && options.to !== undefined ? await lookAtMoveTarget(source, await connections.get('Target'), options.runId) : undefined;
    const checked = await drainCheck(redis, keys, { ...(moveTarget ? { moveTarget } : {}), previous, retiredQueues: options.retiredQueues, name, readQueuesUntil, readSetsUntil, rereadSetsUntil, lookUntil, moreTime, beatWait: { until: beatsUntil, onWait: (line) => warn(`${line}\n`) }, ...(dataLook.cutShort ? { sidekiqDataLookCutShort: dataLook.cutShort } : {}) });
    // Nothing of Sidekiq's anywhere on it (a wrong port, say): said, so that DRAINED is not read as a move's success.
    const report: DrainReport = withNoSidekiqData(checked, dataLook.hasData);
    if (!selection) return { report };
    // Jobs of the selection that workers took here come back here if their worker dies: counted
    // too; so are those in quarantine lists, which no move carries.
    const lists = [...(report.fetched ?? []), ...(report.quarantine ?? [])].map((l) => l.key);
    const listed = await countSelectedJobs(redis, keys, { classes: selection.classes, sets: SORTED_SET_NAMES, queues: true, lists });
    // And those live processes run in no list (Sidekiq's own fetch): only their heartbeats say so.
    const census = await censusProcesses(redis, keys, Date.now() / 1000);
    const found = await withRunningSelected(redis, keys, census.processes, report.fetched ?? [], selection.classes, listed);
    // None found: confirmed once every live process beat twice (confirm-selection.ts), or not sure.
    const { counts, unsure } = await confirmSelection(redis, keys, report, selection.classes, found, { until: beatsUntil, onWait: (line) => warn(`${line}\n`) });
    const judged = judgeSelection(report, counts, selection.classes, selection.description, unsure);
    const view = renderSelectionPlan({ description: selection.description, classes: selection.classes, counts, where: name, verb: 'left', width: screenWidth(undefined) });
    const verdict = judged.selection.drained
      ? `Selected classes: DRAINED — none of their jobs is left on ${name}.`
      : unsure && judged.selection.left === 0 && judged.selection.inflight === 0
        ? `Selected classes: NOT YET SURE — none of their jobs found on ${name}, but ${unsure.count} live Sidekiq process(es) did not beat twice while the check waited, or stopped or started meanwhile (${unsure.names.map(printable).join(', ')}${unsure.names.length < unsure.count ? ', …' : ''}): a job one fetched less than a beat (5–10 s) before is in no list and not yet in its heartbeat; check again.`
      : `Selected classes: NOT DRAINED — ${judged.selection.left} job(s) left on ${name}${judged.selection.inflight > 0 ? `, and ${judged.selection.inflight} in flight from interrupted transfers` : ''}.${workingNote(judged.selection.working)}`;
    return { report: judged.report, selected: { selection: judged.selection, view: `${view}${verdict}\n` } };
  } finally {
    await connections.close();
  }
}

/** The deployment's drain check, run now by its function inside the VPC. */
function deployedCheck(options: DrainCheckOptions): Promise<DrainReport> {
  return invokeDrainCheck({
    ...(options.function ? { functionName: options.function } : {}),
    ...(options.stack ? { stack: options.stack } : {}),
    ...(options.region ? { region: options.region } : {}),
    ...(options.connection ? { connection: options.connection } : {}),
    ...(options.retiredQueues ? { retiredQueues: options.retiredQueues } : {}),
    ...(options.runId ? { runId: options.runId } : {}),
  });
}

/**
 * A previous report is compared with only when it checked the same thing: the same Redis (as its
 * URL is written), prefix and retired queues. Another's would give rates, estimates and "no
 * progress" verdicts made of two different Redis servers' counts.
 */
function checkSameScope(path: string, previous: DrainReport, now: { redis: string; prefix: string; retiredQueues?: readonly string[] | undefined }): void {
  const scope = (queues: readonly string[] | undefined) => (queues && queues.length > 0 ? `retired queues ${[...queues].sort().join(', ')}` : 'the whole Redis');
  const differences = [
    previous.redis !== now.redis ? `it checked ${previous.redis}, this check ${now.redis}` : null,
    previous.prefix !== undefined && previous.prefix !== now.prefix ? `its prefix is "${previous.prefix}", this one "${now.prefix}"` : null,
    scope(previous.retiredQueues) !== scope(now.retiredQueues) ? `it covered ${scope(previous.retiredQueues)}, this check ${scope(now.retiredQueues)}` : null,
  ].filter((d): d is string => d !== null);
  if (differences.length > 0) {
    throw new InputError(`--previous ${path}: not a check of what this one checks (${differences.join('; ')}): its counts cannot give a rate. Give the report of the previous check of the same Redis, prefix and scope, or leave --previous out.`);
  }
}

/**
 * When the options fail, what is wrong with the report --previous names, read as the check would
 * read it next: said with the options' problems, not once they are fixed. Not read with --deployed,
 * which refuses --previous (said already).
 */
function previousProblems(given: Record<string, unknown>): string[] {
  const path = given['previous'];
  if (typeof path !== 'string' || path === '' || given['deployed'] === true) return [];
  try {
    readPrevious(path);
    return [];
  } catch (error) {
    if (error instanceof InputError) return [inputErrorText(error)];
    throw error;
  }
}

/** Likewise, a --save it could not write (checked as below, once the options pass). */
function saveProblems(given: Record<string, unknown>): string[] {
  const path = given['save'];
  // Empty or blank: the options' own check says so.
  if (typeof path !== 'string' || path.trim() === '') return [];
  try {
    checkOutputFile(path, 'drain report');
    return [];
  } catch (error) {
    if (error instanceof InputError) return [inputErrorText(error)];
    throw error;
  }
}

function readPrevious(path: string): DrainReport {
  const text = readInputFile(path, 'previous drain report');
  try {
    const report = JSON.parse(text) as DrainReport;
    if (typeof report.checkedAt !== 'number' || typeof report.remaining !== 'number') throw new Error('not a drain report');
    return report;
  } catch (cause) {
    throw new InputError(`--previous ${path}: not a drain report saved by --save or --json (${(cause as Error).message})`, { cause });
  }
}
