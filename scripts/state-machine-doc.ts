import { BATCH_SIZE, BATCHES_PER_EXECUTION } from '../core/workflow/work-list.js';
import { MAX_ITERATIONS } from '../core/workflow/workflow-input.js';
import { FUNCTION_ENTRIES } from '../infra/constructs/migration-functions.js';
import { LambdaTasks, StateNames } from '../infra/constructs/state-names.js';
import { extractDefinition } from '../infra/local/extract-definition.js';
import { synthesizeLocalWorkflow } from '../infra/local/local-workflow-stack.js';
import { describeErrors, listStates, renderMermaid, type AslRetrier, type AslStateMachine } from '../infra/local/render-mermaid.js';

/** Where the diagram is committed, relative to the repository root. */
export const STATE_MACHINE_DOC = 'docs/state-machine.md';

/**
 * What each state does, in the words of migration-workflow.ts, state-names.ts and the handlers'
 * docs. Keyed by state name: a state added to the workflow without a line here fails the script
 * (and the diagram test), so the list cannot silently fall behind the definition.
 */
const DESCRIPTIONS: Readonly<Record<string, string>> = {
  [StateNames.plan]:
    'gets the execution input and the execution’s ARN (`{executionInput, executionArn}`), validates the input (every problem at once), connects, takes the run lock (unless a dry run; the lock and the run’s settings name the execution that planned, `plannedBy`, so that the clean-up after an execution’s end leaves a later start of the run alone), stores the routing once on the source Redis, finishes transfers left in flight, and lists the work items — every selected set, and every queue to drain — on the source (`sidekiq-migrate:<runId>:items`; a dry run, which writes nothing, lists them again for each batch). Its result is the whole state from here on: the run’s settings, the first batch and an empty tally, never the execution input or the list. A continued execution gets back its one item, or the rest of the list from a position; one whose execution a later start of the run superseded (`start --resume` planned after the continuation was announced: found at its lock or as it adds itself to the run\'s executions, or, once that start has ended the run and released its lock, by that start\'s finish record) gets back no work, the item it carried ended with its counters and the error, and a tally that says so: it goes straight to its summary (`superseded`, `Not complete here`), never to `Could not plan the migration`. A plan that fails once it holds the lock deletes the run\'s list and executions and releases the lock, in one step (`finishRun-4.lua`), unless another start of the run (a retried plan task, a second `start --resume`) planned meanwhile: those are that start\'s.',
  [StateNames.anyLeft]: `loops over the run’s list a batch at a time: a batch to do → Migrate each set and queue; after ${BATCHES_PER_EXECUTION} batches with more to do → Continue the list in a new execution; otherwise → Summarize.`,
  [StateNames.addUp]:
    'folds the batch’s results into the execution’s tally — bounded: totals, counts, the counters of the first 50 items, the first 10 failures and continuations by name — retires the transfer ledgers of the items that ended, and reads the next batch from the list on the source. For an item that failed, it first reads the run’s page receipts (the failed task’s own answer, if it wrote one, counts its pages; attempts that never answered are counted as `uncountedAttempts`) and ends, among the run’s executions, the continuation the item’s last task had added (a set handed on, an item at its loop cap) and that the state machine never started, since it starts one only after a task’s answer: without that, no execution of the run was ever the last, and its lock stayed held until it expired (`test/workflow/cli-sets-apart.test.ts`).',
  [StateNames.continueList]: `starts a new execution of this very state machine with the run’s settings and the position in the list where the rest begins (after ${BATCHES_PER_EXECUTION} batches, far below the 25,000-event history limit), then summarizes this one. Started under the name the add-up chose (\`continueAs\`, as an item’s continuation is), so that a retried start starts it once; one whose name is taken (\`ExecutionAlreadyExists\`: started by an earlier attempt, ended since) handed the list on all the same (The list’s continuation had started); one that still fails otherwise stops the run (Release the run lock after a failure), the execution failing with the error.`,
  'Could not plan the migration': 'the plan step failed (at once for an invalid input, after its retries for a retryable error): the execution fails with its error and cause.',
  [StateNames.eachItem]: `runs the loop below for each item of the batch (at most ${BATCH_SIZE}), a few at a time (Redis is single-threaded, so a few are plenty); each item a child execution with its own history; the items’ small results go to “Add up…”.`,
  [StateNames.chooseStep]: 'picks the page task for the run’s mode (re-route or transfer) and the item’s kind (set or queue).',
  [StateNames.rerouteSet]: 'pages through a sorted set (schedule, retry, dead, interrupted) from the item’s ZSCAN cursor until the item is done, `pagesPerInvocation` pages are done or the time budget is spent; returns the item with its next cursor, `done` and counters summed.',
  [StateNames.rerouteQueue]: 'the same for a queue, a bounded slice at a time.',
  [StateNames.transferSet]: 'claim → copy → acknowledge for a sorted set, a slice at a time, to the target Redis; returns the item with its next cursor, `done` and counters summed.',
  [StateNames.transferQueue]: 'the same for a queue.',
  [StateNames.itemDone]: 'loops each item until it is done: done → Item finished; at `maxIterations` loops → Continue in a new execution; otherwise → the next page task. A set of more than one page (by its size when planned), in a run whose list is longer than one batch (not a dry run, nor one with `--rate-limit`), is answered at its loop cap by its first task in the execution that listed it, once the locks are held: its continuation added to the run’s executions and the answer kept as a page receipt (a retry answers the same, or hands on again), so that it runs in an execution of its own beside the root’s batches, which no longer wait for it (`core/workflow/set-apart.ts`, issue #18; `test/workflow/cli-sets-apart.test.ts`).',
  [StateNames.itemFailed]: 'a page task failed (after its retries, for a retryable error), or the start of the item’s continuation did: the item’s result records the error, and the other items go on.',
  [StateNames.itemFinished]: 'the item’s result: its kind, name and counters, done.',
  [StateNames.continueAsNew]:
    'starts a new execution of this very state machine (known by name) with the run’s settings and the item, cursor and counters included, far below the 25,000-event history limit. It is started under the name the page task that left the item at its loop cap chose (`continueAs`: the run id and a digest of the run’s start and the continuation’s place in the run, `core/workflow/continuation-name.ts`), the same on every attempt: Step Functions answers a StartExecution with the name and input of an open execution with that execution and starts nothing, so a start retried after an error whose answer was lost (it may have started) starts one continuation, not two (an execution of that name that has ended, or one with another input, fails it with `ExecutionAlreadyExists`, never retried: Its continuation had started). A start that still fails otherwise after its retries is the item’s failure (Record the item failure): the add-up ends the continuation the page task had announced, the summary names the item and the error, never Complete (`test/workflow/continuation-start-faults.test.ts`).',
  [StateNames.itemContinued]: 'the item’s result: its counters so far and the execution that continues it.',
  [StateNames.continuationStartedEarlier]:
    'the start met `ExecutionAlreadyExists`: the continuation’s name is taken, by the continuation itself, which an earlier attempt started (its answer lost) and which has ended before the retry (Step Functions answers the name and input of an open execution with it, and refuses the name of a closed one). The name is that continuation’s alone (a digest of the run’s start and the item’s place in it), so the item continued there: its ARN (this state machine’s execution of that name) goes to Item continued elsewhere, as the answer would have, and the run’s result is what that continuation did — finished, failed or continued again, as its own summary says — never a start failure that was none, nor Complete when it failed (`test/workflow/continuation-start-faults.test.ts`). The local runner answers a closed execution’s name as Step Functions does.',
  [StateNames.listContinuationStartedEarlier]:
    'the same for the list’s continuation: its name taken by the continuation an earlier attempt started, ended since; this execution is summarized as having handed the list on to it.',
  [StateNames.summarize]:
    'turns the tally into the execution’s summary and ends this execution among the run’s executions (`sidekiq-migrate:<runId>:executions`, where a continuation is added before it starts): the last one of the run to end releases the run lock and deletes the list, so a run whose items continue elsewhere keeps its lock until they end. Each of these, and the adding of a continuation (by a page task, the add-up, a continuation\'s plan), is one atomic step with the look at the lock (`endRunExecution-3.lua`, `finishRun-4.lua`, `addRunExecution-4.lua`): an execution superseded by a later start of the run (`start --resume`) that plans meanwhile ends nothing of the later execution’s (its `root`, its list, its lock) and adds nothing to its executions (which would keep its summary from ever being the last one, and its lock held until it expired). Before it ends there, it records the queues and sets whose items ended in this execution, with their counters, beside the executions (`sidekiq-migrate:<runId>:ended-queues`; a set’s field starts with `set` and a newline): the last one to end looks for jobs put on every one of them after its item ended (Sidekiq’s shutdown requeue, a late producer, a retry or a scheduled job written to a set after its pass), whichever execution ended it, and its summary says it ended the run (`endedRun`). The summaries of a run continued in several executions are combined (`watch`, `status`, the local run): totals add up, and what is left on the source (jobs in flight, quarantine lists, arrivals) is what the execution that ended the run saw, not the one that started last, which may end first and have looked while another still had a slice in flight (`test/workflow/cli-continued-run-findings.test.ts`; deployed: `test/unit/cli/deployed-commands.test.ts`, ‘a continued run whose root ended it’). Its output is the execution’s summary.',
  [StateNames.releaseAfterFailure]: "a failing map or summary stops the run before the execution fails: it sets the run's stop marker and releases the run lock, so that a page Lambda of the failed map still running ends after its page instead of taking the lock again (`start --resume RUN`, or the same local command, resumes the run).",
  [StateNames.failed]: 'the execution fails with the error and cause of the failure it caught.',
};

/** docs/state-machine.md as the current workflow definition makes it. */
export function stateMachineDoc(): string {
  const { workflow } = synthesizeLocalWorkflow();
  const definition = extractDefinition(workflow.stateMachine) as unknown as AslStateMachine;
  const states = listStates(definition);
  const stateLines = states.map(({ name, state, parent }) => {
    const description = DESCRIPTIONS[name];
    if (description === undefined) throw new Error(`${STATE_MACHINE_DOC}: no description of the state "${name}": add one to scripts/state-machine-doc.ts`);
    return `${parent === undefined ? '' : '  '}- **${name}** (${kindOf(name, state.Type, state.Resource)}): ${description}`;
  });
  return [
    '# The migration state machine',
    '',
    '<!-- Generated by `npm run diagram` (scripts/render-state-machine-diagram.ts) from the synthesized definition: do not edit by hand. -->',
    '',
    '`MigrationWorkflow` (`infra/constructs/migration-workflow.ts`) as CDK synthesizes it with its defaults, the',
    'definition the local runner runs too: Plan migration (lists the sets and queues on the source) → Any sets or',
    `queues left? → Migrate each set and queue (a Distributed Map over a batch of at most ${BATCH_SIZE}; per item a loop of page`,
    'tasks until the item is done, continuing in a new execution after `maxIterations` loops) → Add up and list the',
    'next sets and queues → Any sets or queues left? … → Summarize. The state stays the same size whatever the number',
    'of sets, queues, classes or failures. Retryable errors are retried with backoff; an item that still fails is',
    'recorded and the other items go on; any other failure stops the run (its stop marker set, its lock released) before the execution fails.',
    '',
    '## States',
    '',
    ...stateLines,
    '',
    '## Retries',
    '',
    ...retryLines(states.map((s) => ({ name: s.name, retry: s.state.Retry ?? [] }))),
    '',
    '## History events and loop caps',
    '',
    'Step Functions ends an execution at 25,000 history events; each Distributed Map child (one item) has its own',
    'history. A Lambda task is 5 events and 3 more per retry, a Choice or a Pass 2 (the local runner counts them the',
    'same way and fails an execution that passes 25,000: `infra/local/quota-enforcement.ts`).',
    '',
    `- **An item's loop** (Choose the step 2, a page task 5, Is this item done? 2) is 9 events, and 69 when the page is retried as often as the definition allows (6 retries of \`RetryableError\`, 6 of Lambda's service errors, 8 of Lambda's throttling: 20 × 3). \`maxIterations\` is at most and by default ${MAX_ITERATIONS}: ${MAX_ITERATIONS} × 69 plus the item's start and hand-over (with Its continuation had started, 2) is at most 24,875 events (\`test/workflow/local-quotas.test.ts\` runs an item at the cap with every page retried 20 times). At the defaults (1,000 jobs a page, 50 pages an invocation) one execution takes an item through ${(MAX_ITERATIONS * 50_000).toLocaleString('en-US')} jobs before it continues it.`,
    `- **A batch** (Any sets or queues left? 2, the Distributed Map 6 — MapStateEntered, MapStateStarted, MapRunStarted, MapRunSucceeded, MapStateSucceeded, MapStateExited —, Add up… 5 and 60 for its retries) is at most 73 events: after ${BATCHES_PER_EXECUTION} batches (${(BATCHES_PER_EXECUTION * BATCH_SIZE).toLocaleString('en-US')} sets and queues) the rest of the list continues in a new execution (${BATCHES_PER_EXECUTION} × 73 = ${(BATCHES_PER_EXECUTION * 73).toLocaleString('en-US')} events, and at most 165 for the plan, the hand-over (with The list’s continuation had started, 2) and the summary: ${(BATCHES_PER_EXECUTION * 73 + 165).toLocaleString('en-US')}).`,
    '',
    '## Diagram',
    '',
    'Solid arrows: the next state (a Choice’s labelled with its condition); dotted arrows: a Catch, labelled with the errors it catches.',
    '',
    '```mermaid',
    renderMermaid(definition).trimEnd(),
    '```',
    '',
    'Regenerate with `npm run diagram`.',
    '',
  ].join('\n');
}

function kindOf(name: string, type: string, resource: string | undefined): string {
  const handler = (LambdaTasks as Readonly<Record<string, keyof typeof FUNCTION_ENTRIES>>)[name];
  if (handler !== undefined) return `Lambda \`${handler}\`, \`functions/${FUNCTION_ENTRIES[handler]}\``;
  if (type === 'Task') return `Task \`${resource ?? ''}\``;
  return type === 'Map' ? 'Distributed Map' : type;
}

/** One line per distinct retrier: its errors, attempts and backoff, and which Tasks have it. */
function retryLines(states: readonly { name: string; retry: readonly AslRetrier[] }[]): string[] {
  const byRetrier = new Map<string, { retrier: AslRetrier; states: string[] }>();
  for (const { name, retry } of states) {
    for (const retrier of retry) {
      const key = JSON.stringify(retrier);
      const entry = byRetrier.get(key) ?? { retrier, states: [] };
      entry.states.push(name);
      byRetrier.set(key, entry);
    }
  }
  const lambdaTasks = Object.keys(LambdaTasks).sort().join('\n');
  return [...byRetrier.values()].map(({ retrier: r, states: on }) => {
    const errors = describeErrors(r.ErrorEquals);
    const names = errors === r.ErrorEquals.join(', ') ? `\`${errors}\`` : `${errors} (${r.ErrorEquals.map((e) => `\`${e}\``).join(', ')})`;
    const backoff = `first after ${r.IntervalSeconds ?? 1} s, each wait ×${r.BackoffRate ?? 2}${r.MaxDelaySeconds === undefined ? '' : `, at most ${r.MaxDelaySeconds} s`}${r.JitterStrategy === 'FULL' ? ', with full jitter' : ''}`;
    const where = [...on].sort().join('\n') === lambdaTasks ? 'every Lambda task' : on.join(', ');
    if (r.MaxAttempts === 0) {
      return `- ${r.ErrorEquals.map((e) => `\`${e}\``).join(', ')}: never retried (a retrier of no attempts: the first retrier whose errors match decides, so a later one's \`States.TaskFailed\` does not take these); on ${where}.`;
    }
    return `- ${names}: retried up to ${r.MaxAttempts ?? 3} times, ${backoff}; on ${where}.`;
  });
}
