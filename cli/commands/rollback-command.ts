import type { Command } from 'commander';
import { rollbackOptionsSchema } from '../../core/config/rollback-options.js';
import { defaultLabel, validateConfigAndFiles } from '../../core/config/validate-config.js';
import type { Connection } from '../../core/workflow/connections.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import type { CliContext } from '../cli-context.js';
import { optionsWithConfig } from '../config/options-with-config.js';
import { FatalError } from '../../core/errors/sidekiq-migrate-error.js';
import { isRollbackOf, refuseDryRunOfRunningRun as refuseDryRunOfRunning } from '../../core/workflow/dry-run-of-running-run.js';
import { chooseRunId, deadRunOfThisMachine, newRunId } from '../workflow/choose-run-id.js';
import { connectOptions, refuseCaWithoutTls } from '../workflow/connect-options.js';
import { interruptedRunWords, refuseDeadRunInTheWay as refuseOtherDeadRun } from '../workflow/dead-run-in-the-way.js';
import { refuseOtherRouting } from '../workflow/dead-run-routing.js';
import { runWorkflowFromCli } from '../workflow/run-workflow.js';
import { fileProblemsOf } from '../workflow/routing-input.js';
import { endpointRefusals } from '../workflow/selection-input.js';
import { queueOnlyOptions, typedOptions } from '../workflow/ignored-options.js';
import { addSetOptions } from './run-options.js';

export function registerRollbackCommand(program: Command, ctx: CliContext): void {
  // --sets and --no-queues as start --rollback takes them (a rollback of some sets only): addSetOptions.
  addSetOptions(program
    .command('rollback')
    .summary('put the jobs a finished re-route run moved back on their previous queues')
    .description(
      'Undoes a re-route run (after wrong routing rules, say) from the moves it recorded on the Redis (kept 30 days): every job it moved that is still waiting — queued, scheduled, retrying or dead — goes back to the queue it came from, atomically, changing only the queue value back. The record is per class and queue, for --rename runs too: jobs of the classes the run moved go back, including jobs of those classes that reached their new queue since; jobs of other classes are left alone; a class it moved to one queue from several is left in place and counted as unmapped. Each run has its own record: after several runs of one change, roll back each, newest first. A rollback records its own moves, so it can be rolled back too. Runs the same state machine as `run`; an interrupted rollback resumes when run again.',
    )
    .argument('<run>', 'the id of the re-route run to roll back (shown in its summary)'))
    .option('--redis <url>', 'the Redis the run re-routed in: redis://[user:password@]host[:port][/db] or rediss://… (TLS)')
    .option('--namespace <prefix>', 'Sidekiq key prefix (redis-namespace), e.g. resque:gitlab:')
    .option('--unmapped <what>', 'as for run, but quarantine changes nothing here: every queue a rollback takes jobs from is live, so jobs it cannot put back stay there')
    .option('--append', "queue jobs behind the destination's backlog (GitLab's behaviour) instead of ahead of it")
    .option('--page-size <n>', 'jobs per page or slice (default: 1000)')
    .option('--run-id <id>', 'name this rollback run (to resume a specific interrupted one)')
    .option('--dry-run', 'decide and count everything, write nothing')
    .option('--tls-ca <file>', "CA certificate(s) to trust for rediss:// (PEM), for a private CA, besides Node's default CAs")
    .option('--password <password>', 'the Redis password, apart from the URL; better: $SIDEKIQ_MIGRATE_PASSWORD')
    .option('--json', 'print one JSON summary object (with every set and queue)')
    .option('--verbose', 'list every set and queue in the summary, not only the largest')
    .action(async (run: string, raw: Record<string, unknown>, command: Command) => {
      // A CA file's problems and a CA for a redis:// URL are said with the options' (not after them).
      const options = validateConfigAndFiles(
        rollbackOptionsSchema,
        { ...optionsWithConfig(command, raw), of: run },
        (given) => fileProblemsOf({ tlsCa: given['tlsCa'] }),
        (given) => [...queueOnlyOptions(typedOptions(command), given), ...endpointRefusals(given, { redis: '--redis' }, { tlsCa: ['redis'] }, { sides: { redis: ['password'] }, typed: typedOptions(command) })],
        (path) => (path[0] === 'of' ? 'RUN' : defaultLabel(path)),
      );
      refuseCaWithoutTls('--tls-ca', options.tlsCa, [options.redis]);
      const connect = connectOptions({ password: options.password, caFiles: [options.tlsCa] }, 'migrate-source', ctx.io.err);
      const connections = new UrlConnections({ source: { url: options.redis, prefix: options.namespace, connect } });
      try {
        const source = await connections.get('source');
        const { runId, resumes } = await chooseRollbackRunId(options.runId, options.of, source, options.dryRun);
        if (resumes && !options.json) ctx.io.err(`Resuming rollback run ${runId}, whose process on this machine is gone.\n`);
        const input = {
          runId,
          mode: 'reroute',
          source: 'source',
          routing: { kind: 'rollback', of: options.of },
          sets: options.sets,
          queues: options.queues,
          dryRun: options.dryRun,
          pageSize: options.pageSize,
          unmapped: options.unmapped,
          placement: options.append ? 'append' : 'front',
        };
        ctx.exitCode = await runWorkflowFromCli({ input, connections, handlers: ctx.handlersFor(connections), retryIntervalMs: ctx.retryIntervalMs, io: ctx.io, json: options.json, verbose: options.verbose, endpoint: source.name, rollback: true, resumes });
      } finally {
        await connections.close();
      }
    });
}

/**
 * `run`'s choice of run id, except that a dead local run is resumed only when it is a rollback of
 * the same run: resuming any other (a re-route, a rollback of another run) under this rollback's
 * routing would mix two runs' moves; such a run in the way is refused here, with what to do
 * (refuseDeadRunInTheWay). Otherwise a new `rollback-…` id; the plan step then names whatever
 * else holds the lock.
 */
async function chooseRollbackRunId(given: string | undefined, of: string, source: Connection, dryRun: boolean): Promise<{ runId: string; resumes: boolean }> {
  // A run named with --run-id is compared with what its first plan recorded, as `run` compares it:
  // a re-route, or a rollback of another run, is refused (the plan step refuses it too).
  const chosen = given !== undefined ? await refuseOtherRouting(source, { runId: given, resumes: false }, { mode: 'reroute', routing: { kind: 'rollback', of } }, dryRun, true) : await chooseRunId(undefined, 'reroute', [source]);
  if (chosen.resumes && (await isRollbackOf(source, chosen.runId, of))) return chosen;
  const runId = given ?? newRunId('rollback');
  // A dry run takes no lock: nothing is in its way, but for the run it rolls back still running.
  if (!dryRun) await refuseDeadRunInTheWay(source, of, runId);
  else await refuseDryRunOfRunningRun(source, of, runId);
  return { runId, resumes: false };
}

/**
 * Run `of`, or a rollback of it, still running: its dry run is refused (dry-run-of-running-run.ts),
 * but for a dead run of this machine, whose moves are over. The plan step asks it again, for any
 * execution (a deployed `start --rollback --dry-run` included), in the same words.
 */
async function refuseDryRunOfRunningRun(source: Connection, of: string, runId: string): Promise<void> {
  await refuseDryRunOfRunning(source, of, runId, async (holder) => (await deadRunOfThisMachine(source))?.runId === holder.runId);
}

/**
 * A run of this machine whose process is gone holds the lock, and this rollback does not resume
 * it: refused, touching nothing. When it is the run to roll back, with what a rollback of it can
 * do (wait for its lock, or finish it first); another run, as `run` and `move` refuse it
 * (dead-run-in-the-way.ts).
 */
async function refuseDeadRunInTheWay(source: Connection, of: string, runId: string): Promise<void> {
  const dead = await deadRunOfThisMachine(source);
  if (dead?.runId !== of || dead.runId === runId) return refuseOtherDeadRun([source], runId);
  throw new FatalError(
    `Run ${of} was interrupted: ${await interruptedRunWords(source, dead)}. To roll it back, run this rollback again once that lock has expired: it puts back what ${of} moved (the jobs it had not moved are still where they were). ` +
      `Or finish ${of} at once by running its command again (it resumes ${of}), then roll it back. Nothing was touched.`,
  );
}

/** Whether run `runId` on `source` is a rollback (of run `of`, when given): kept here for the commands that ask it. */
export { isRollbackOf };
