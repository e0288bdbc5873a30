import type { Command } from 'commander';
import { runOptionsSchema, type RunOptions } from '../../core/config/run-options.js';
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
import { queueOnlyOptions, typedOptions } from '../workflow/ignored-options.js';
import { runWorkflowFromCli } from '../workflow/run-workflow.js';
import { endpointRefusals } from '../workflow/selection-input.js';
import { isRollbackOf } from './rollback-command.js';
import { migrationInput } from '../workflow/migration-input.js';
import { addMigrationOptions } from './run-options.js';

export function registerRunCommand(program: Command, ctx: CliContext): void {
  addMigrationOptions(
    program
      .command('run')
      .summary('re-route jobs inside one Redis after a routing change')
      .description(
        'Moves every job whose queue changed — queued, scheduled, waiting to retry and dead — to its new queue, atomically, changing only the queue value of each payload. Runs the same state machine as the AWS deployment, locally. A run interrupted at any point is resumed by running the same command again.',
      )
      .option('--redis <url>', 'the Redis to re-route in: redis://[user:password@]host[:port][/db] or rediss://… (TLS)')
      .option('--unmapped <what>', 'queued jobs with no destination: leave (default) or quarantine (set entries always stay: not with --no-queues)')
      .option('--rewrite-cron', 'also rewrite the queue of sidekiq-cron definitions whose class now belongs elsewhere (otherwise they are only named)'),
  ).action(async (raw: Record<string, unknown>, command: Command) => {
    const completed = optionsWithConfig(command, raw);
    const environmentGiven = environmentGivenBy(command, completed);
    const routingOf = onceFor(routingKey, (o: Parameters<typeof routingInputFromFlags>[0]) => routingInputFromFlags({ ...o, environmentGiven }));
    const options = withRoutingProblems(runOptionsSchema, completed, (input) => validateConfigAndFiles(runOptionsSchema, input, fileProblemsOf, (given) => [
      ...flagsWithoutRules(raw, given),
      ...queueOnlyOptions(typedOptions(command), given),
      ...endpointRefusals(given, { redis: '--redis' }, { tlsCa: ['redis'] }, { sides: { redis: ['password'] }, typed: typedOptions(command) }),
      // Its size decided before connecting (with the run id a new run takes: see rerouteInput).
      ...inputSizeProblems(runOptionsSchema, given, (o) => rerouteInput(o, o.runId ?? newRunId('reroute'), routingOf(o).routing), (o) => [o.namespace]),
    ]), routingOf, ROUTING_KEYS);
    const { routing, warnings } = routingOf(options);
    refuseCaWithoutTls('--tls-ca', options.tlsCa, [options.redis]);
    const connect = connectOptions({ password: options.password, caFiles: [options.tlsCa] }, 'migrate-source', ctx.io.err);
    const connections = new UrlConnections({ source: { url: options.redis, prefix: options.namespace, connect } });
    try {
      const source = await connections.get('source');
      // On stderr with --json too, as the plan's notices: stdout keeps its one summary object.
      for (const w of warnings) ctx.io.err(`warning: ${w}\n`);
      const chosen = await chooseRunId(options.runId, 'reroute', [source], { dryRun: options.dryRun });
      // A dead local rollback is finished by `rollback` again: taken over here, it would stop
      // half done and record this run's moves as a rollback's. It is refused below, as any other
      // dead run of this machine this run does not resume.
      const notRollback = chosen.resumes && (await isRollbackOf(source, chosen.runId)) ? { runId: newRunId('reroute'), resumes: false } : chosen;
      const { runId, resumes } = await refuseOtherRouting(source, notRollback, { mode: 'reroute', routing }, options.dryRun, options.runId !== undefined);
      // A dry run takes no lock: nothing is in its way.
      if (!options.dryRun) await refuseDeadRunInTheWay([source], runId);
      if (resumes && !options.json) ctx.io.err(`Resuming run ${runId}, whose process on this machine is gone.\n`);
      const input = rerouteInput(options, runId, routing);
      ctx.exitCode = await runWorkflowFromCli({ input, connections, handlers: ctx.handlersFor(connections), retryIntervalMs: ctx.retryIntervalMs, io: ctx.io, json: options.json, verbose: options.verbose, resumes, endpoint: source.name });
    } finally {
      await connections.close();
    }
  });
}

/**
 * The execution input of a `run`. Built once before connecting, to refuse an input too large with
 * the options' other problems (inputSizeProblems), and once connected with the run id chosen then:
 * that one alone needs Redis (a dead run of this machine is resumed under its own id, which may be
 * longer than a new one's, up to 80 characters), so runWorkflowFromCli checks the size again, exactly.
 */
function rerouteInput(options: RunOptions, runId: string, routing: RoutingInput | undefined): Record<string, unknown> {
  return migrationInput({ runId, mode: 'reroute', source: 'source', routing, cron: options.rewriteCron ? 'rewrite' : undefined }, options);
}
