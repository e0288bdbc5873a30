import { readRunStart, runAsk } from '../../core/workflow/asked-replicas.js';
import type { Command } from 'commander';
import { moveOptionsSchema, type MoveOptions } from '../../core/config/run-options.js';
import type { RoutingInput } from '../../core/workflow/workflow-input.js';
import { validateConfigAndFiles } from '../../core/config/validate-config.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import type { CliContext } from '../cli-context.js';
import { optionsWithConfig } from '../config/options-with-config.js';
import { chooseRunId, newRunId } from '../workflow/choose-run-id.js';
import { connectOptions, refuseCaWithoutTls } from '../workflow/connect-options.js';
import { refuseDeadRunInTheWay } from '../workflow/dead-run-in-the-way.js';
import { refuseOtherRouting } from '../workflow/dead-run-routing.js';
import { environmentGivenBy, fileProblemsOf, flagsWithoutRules, routingInputFromFlags } from '../workflow/routing-input.js';
import { inputSizeProblems, onceFor, ROUTING_KEYS, routingKey, withRoutingProblems } from '../workflow/execution-input-size.js';
import { passwordForNeither, readsRedisYml, redisYmlUnused, typedOptions } from '../workflow/ignored-options.js';
import { runWorkflowFromCli } from '../workflow/run-workflow.js';
import { countSelectedJobs, type SelectedJobCounts } from '../../core/selection/count-selected-jobs.js';
import { hasSelection, resolveClassSelection, type ClassSelection } from '../../core/selection/resolve-selection.js';
import { screenWidth } from '../workflow/fit.js';
import { renderSelectionPlan } from '../workflow/render-selection-plan.js';
import { endpointCaFiles, endpointRefusals, endpointUrls, routingInputOfPlan, refuseCronWithSelection } from '../workflow/selection-input.js';
import { migrationInput } from '../workflow/migration-input.js';
import { addClassSelectionOptions, addMigrationOptions } from './run-options.js';

export function registerMoveCommand(program: Command, ctx: CliContext): void {
  addClassSelectionOptions(addMigrationOptions(
    program
      .command('move')
      .summary('transfer jobs from an old Redis to a new one while workers run')
      .description(
        'Moves scheduled, retrying and dead jobs and whatever is still queued from the old Redis to the new one, each exactly once (claim, copy through a per-run ledger, acknowledge), optionally re-routing them on the way. Sidekiq may keep running on both sides. An interrupted run is finished by running the command again.',
      )
      .option('--from <url>', 'the old Redis (source)')
      .option('--to <url>', 'the new Redis (target)')
      .option('--to-namespace <prefix>', 'key prefix on the new Redis (default: the same as --namespace)')
      .option('--cron', 'also copy sidekiq-cron definitions to the new Redis (never overwriting one it has); otherwise they are only named')
      .option('--from-tls-ca <file>', 'CA certificate(s) to trust for the old Redis only (added to --tls-ca and the default CAs)')
      .option('--to-tls-ca <file>', 'CA certificate(s) to trust for the new Redis only (added to --tls-ca and the default CAs)')
      .option('--from-password <password>', 'the old Redis password (default: --password); better: $SIDEKIQ_MIGRATE_FROM_PASSWORD')
      .option('--to-password <password>', 'the new Redis password (default: --password); better: $SIDEKIQ_MIGRATE_TO_PASSWORD')
      .option('--rate-limit <jobs/s>', 'move at most this many jobs per second per set or queue (a few move at once), to spare a busy source')
      .option('--from-replicas <n>', "wait for at least N replicas of the old Redis after each claim (for a proxy that hides its replicas from INFO, e.g. Redis Enterprise's)")
      .option('--to-replicas <n>', 'wait for at least N replicas of the new Redis after each copy, before the old one forgets the jobs (for a proxy that hides its replicas)'),
  )).action(async (raw: Record<string, unknown>, command: Command) => {
    const completed = optionsWithConfig(command, raw);
    const environmentGiven = environmentGivenBy(command, completed, readsRedisYml(completed, ['from', 'to']));
    const routingOf = onceFor(routingKey, (o: MoveOptions) => moveRouting({ ...o, environmentGiven }));
    const options = withRoutingProblems(moveOptionsSchema, completed, (input) => validateConfigAndFiles(moveOptionsSchema, input, fileProblemsOf, (given) => [
      ...flagsWithoutRules(raw, given, { reads: readsRedisYml(given, ['from', 'to']) }),
      ...redisYmlUnused(typedOptions(command), given, { from: '--from', to: '--to' }),
      ...passwordForNeither(typedOptions(command), given),
      ...endpointRefusals(given, { from: '--from', to: '--to' }, { tlsCa: ['from', 'to'], fromTlsCa: ['from'], toTlsCa: ['to'] }, { sides: { from: ['fromPassword', 'password'], to: ['toPassword', 'password'] }, typed: typedOptions(command) }),
      // Its size decided before connecting (with the run id a new run takes: see transferInput).
      ...inputSizeProblems(moveOptionsSchema, given, (o) => transferInput(o, o.runId ?? newRunId('transfer'), routingOf(o)), (o) => [o.namespace, o.toNamespace ?? o.namespace]),
    ]), routingOf, ROUTING_KEYS);
    // Every file is read and every name resolved before anything connects: bad input touches nothing.
    const urls = endpointUrls(options.redisYml, options.environment, { from: { value: options.from, option: '--from' }, to: { value: options.to, option: '--to' } });
    // A store's own CA (its ssl_params ca_file) is trusted for its side, beside the CA options.
    const storeCas = endpointCaFiles(options.redisYml, options.environment, { from: options.from, to: options.to });
    const { selection, routing, warnings } = routingOf(options);
    refuseCaWithoutTls('--tls-ca', options.tlsCa, [urls.from, urls.to]);
    refuseCaWithoutTls('--from-tls-ca', options.fromTlsCa, [urls.from]);
    refuseCaWithoutTls('--to-tls-ca', options.toTlsCa, [urls.to]);
    const connections = new UrlConnections({
      source: { url: urls.from, prefix: options.namespace, connect: connectOptions({ password: options.fromPassword ?? options.password, caFiles: [options.tlsCa, options.fromTlsCa, storeCas.from] }, 'migrate-source', ctx.io.err) },
      target: { url: urls.to, prefix: options.toNamespace ?? options.namespace, connect: connectOptions({ password: options.toPassword ?? options.password, caFiles: [options.tlsCa, options.toTlsCa, storeCas.to] }, 'migrate-target', ctx.io.err) },
    });
    try {
      const [source, target] = [await connections.get('source'), await connections.get('target')];
      // On stderr with --json too, as the plan's notices: stdout keeps its one summary object.
      for (const w of warnings) ctx.io.err(`warning: ${w}\n`);
      // A dead move of this machine is resumed only with the routing, classes and target it started with.
      const chosen = await chooseRunId(options.runId, 'transfer', [source, target], { dryRun: options.dryRun });
      const { runId, resumes } = await refuseOtherRouting(source, chosen, { mode: 'transfer', routing, ...(selection ? { classes: selection.classes } : {}), target }, options.dryRun, options.runId !== undefined);
      // A resumed run waits for the replicas it was started with: other counts are refused here, in this command's words (asked-replicas.ts).
      if (!options.dryRun) runAsk({ runId, mode: 'transfer', ...(options.fromReplicas !== undefined ? { fromReplicas: options.fromReplicas } : {}), ...(options.toReplicas !== undefined ? { toReplicas: options.toReplicas } : {}) }, await readRunStart(source, runId, 'transfer'), 'command');
      // A dry run takes no lock: nothing is in its way.
      if (!options.dryRun) await refuseDeadRunInTheWay([source, target], runId);
      if (resumes && !options.json) ctx.io.err(`Resuming run ${runId}, whose process on this machine is gone.\n`);
      let plan: Record<string, unknown> | undefined;
      let selectedJobs: number | undefined;
      let selectionText: string | undefined;
      if (selection) {
        // The plan per class: read only, before the move (and as the dry run's answer).
        const counts = await countSelectedJobs(source.redis, source.keys, { classes: selection.classes, sets: options.sets, queues: options.queues, pageSize: options.pageSize });
        const verb = options.dryRun ? 'would move' : 'to move';
        // Said once the plan step accepted the run (run-workflow.ts): a refused one prints its message alone.
        if (!options.json) selectionText = `${renderSelectionPlan({ description: selection.description, classes: selection.classes, counts, where: source.name, verb, width: screenWidth(ctx.io.columns), verbose: options.verbose })}\n`;
        plan = selectionJson(selection.classes, counts);
        selectedJobs = counts.selected;
      }
      const input = transferInput(options, runId, { selection, routing });
      ctx.exitCode = await runWorkflowFromCli({ input, connections, handlers: ctx.handlersFor(connections), retryIntervalMs: ctx.retryIntervalMs, io: ctx.io, json: options.json, verbose: options.verbose, resumes, endpoint: `${source.name} → ${target.name}`, source: source.name, ...(plan ? { extra: { selection: plan }, selectedJobs } : {}), ...(selectionText !== undefined ? { oncePlanned: selectionText } : {}) });
    } finally {
      await connections.close();
    }
  });
}

/** The classes a move carries (a selection, its files read) and where they go: no Redis needed. */
function moveRouting(options: MoveOptions & { readonly environmentGiven?: string }): { selection?: ClassSelection; routing?: RoutingInput; warnings: string[] } {
  refuseCronWithSelection(options.cron, hasSelection(options));
  const selection = hasSelection(options) ? resolveClassSelection(options) : undefined;
  return selection ? { selection, routing: routingInputOfPlan(selection.plan), warnings: selection.warnings } : routingInputFromFlags(options);
}

/**
 * The execution input of a `move`. Built once before connecting, to refuse an input too large with
 * the options' other problems (inputSizeProblems), and once connected with the run id chosen then:
 * that one alone needs Redis (a dead move of this machine is resumed under its own id, which may be
 * longer than a new one's, up to 80 characters), so runWorkflowFromCli checks the size again, exactly.
 */
function transferInput(options: MoveOptions, runId: string, { selection, routing }: { selection?: ClassSelection | undefined; routing?: RoutingInput | undefined }): Record<string, unknown> {
  // start --mode transfer builds its input with the same migrationInput: one deployed behaves as one run here.
  return migrationInput({ runId, mode: 'transfer', source: 'source', target: 'target', routing, classes: selection?.classes, cron: options.cron ? 'carry' : undefined }, options);
}

/** The plan in --json's summary object: class → where → jobs, and the classes with none. */
function selectionJson(classes: readonly string[], counts: SelectedJobCounts): Record<string, unknown> {
  const byClass = Object.fromEntries([...counts.byClass].map(([cls, perKey]) => [cls, Object.fromEntries(perKey)]));
  return { classes: classes.length, jobs: counts.selected, examined: counts.examined, byClass, withoutJobs: classes.filter((c) => !counts.byClass.has(c)) };
}
