import type { ConnectionProvider } from '../../core/workflow/connections.js';
import { stopRunStep } from '../../core/workflow/steps/stop-run-step.js';
import { RedisUnavailableError } from '../../core/redis/redis-errors.js';
import type { CliIo } from '../cli-io.js';

/** What a local run needs to be stopped as `sidekiq-migrate stop` stops a deployed one. */
export interface InterruptibleRun {
  readonly input: Record<string, unknown>;
  readonly connections: ConnectionProvider;
}

/**
 * Ctrl-C (SIGINT) or SIGTERM during a local run. The first stops the run the way a deployed run is
 * stopped: its stop marker is set and its lock released on every Redis of the run, so each page
 * in progress finishes (a page is atomic), no further page starts, and the run ends with its
 * summary, `Not complete`, and exit code 1; the next run finishes what is in flight. A second
 * signal quits at once (exit 130), which loses nothing either: what a page had claimed stays in
 * flight for the next run. Returns the signal that stopped the run (if one did) and the function
 * that removes the handlers.
 */
export function stopOnInterrupt(run: InterruptibleRun, io: CliIo, planned: () => boolean, quit: (code: number) => void = (code) => process.exit(code)): { stoppedBy: () => NodeJS.Signals | undefined; remove: () => void } {
  let stopping: NodeJS.Signals | undefined;
  const settings = {
    runId: String(run.input['runId']),
    source: typeof run.input['source'] === 'string' ? run.input['source'] : 'source',
    target: typeof run.input['target'] === 'string' ? run.input['target'] : undefined,
    dryRun: run.input['dryRun'] === true,
  };
  const quitAgain = (signal: NodeJS.Signals) => {
    io.err(`\n${signal} again: quitting now. Nothing is lost: run the same command again to finish what is in flight.\n`);
    quit(130);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (settings.dryRun) {
      io.err(`\n${signal}: quitting the dry run; it wrote nothing.\n`);
      quit(130);
      return;
    }
    // Before the plan has taken the locks, a stop marker would be lifted by the plan itself (a new
    // execution resumes a stopped run): quit instead, which loses nothing at any instant.
    if (!planned()) {
      io.err(`\n${signal} while planning: quitting now. Nothing is lost: run the same command again.\n`);
      quit(130);
      return;
    }
    if (stopping) {
      quitAgain(signal);
      return;
    }
    stopping = signal;
    io.err(`\n${signal}: stopping run ${settings.runId} after the pages in progress (${signal} again to quit at once)…\n`);
    stopRunStep(settings, run.connections, { reason: signal }).catch((error: unknown) => {
      // A server that cannot be reached cannot be told to stop, and the run would wait out its
      // retries (minutes): quit at once, as a second signal does, which loses nothing.
      if (error instanceof RedisUnavailableError) {
        io.err(`Could not stop run ${settings.runId} cleanly: ${error.message}\nQuitting now. Nothing is lost: run the same command again once the server is back, to finish what is in flight.\n`);
        quit(130);
        return;
      }
      io.err(`Could not stop run ${settings.runId} cleanly (${(error as Error).message}); ${signal} again to quit at once.\n`);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    stoppedBy: () => stopping,
    remove: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // Stopped by a signal, the run can end within moments (each slice's claim sees the stop): a
      // second signal while the process prints and closes its connections still quits as told
      // (exit 130, these words) rather than killing it unannounced.
      if (stopping) {
        process.once('SIGINT', quitAgain);
        process.once('SIGTERM', quitAgain);
      }
    },
  };
}

/** The failure a page task reports when it met the run's stop marker (RunStoppedError's message). */
export const isStoppedFailure = (failure: { readonly error: string }): boolean => /\bwas stopped \(noticed /.test(failure.error);
