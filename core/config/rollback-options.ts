import { z } from 'zod';
import { runIdProblem } from './reserved-run-ids.js';
import { checkSomethingLookedAt, checkVerboseWithJson, despiteOptionProblems, migrationOptionFields, runOptionsSchema } from './run-options.js';

const { namespace, dryRun, json, verbose, pageSize, runId, tlsCa, sets, queues } = migrationOptionFields;
const { redis, unmapped, append, password } = runOptionsSchema.shape;

/**
 * The checks across options run despite a RUN that is no run id too (compared only as text, with
 * --run-id): a bad RUN with --sets '' --no-queues said the RUN alone, the rest only once it was
 * fixed, while start --rollback said both at once.
 */
const despiteRunProblems = {
  when: (payload: { issues: readonly { path?: readonly PropertyKey[] }[] }) => payload.issues.every((issue) => issue.path?.[0] === 'of' || despiteOptionProblems.when({ issues: [issue] })),
};

/**
 * `sidekiq-migrate rollback RUN`: puts the jobs a finished re-route run moved back on their queues.
 * No routing options (the run's recorded moves are the routing). By default it undoes everything
 * the run recorded; `--sets` and `--no-queues` limit it to some sets (or to them alone), as
 * `start --rollback` does: a deployed rollback and a local one take the same options.
 */
export const rollbackOptionsSchema = z.strictObject({
  of: z.string({ error: 'required: the id of the run to roll back' }).superRefine((id, ctx) => {
    if (!/^[A-Za-z0-9_.-]{1,80}$/.test(id)) ctx.addIssue({ code: 'custom', message: runIdProblem(id) ?? 'not a run id' });
  }),
  redis,
  namespace,
  dryRun,
  json,
  verbose,
  pageSize,
  sets,
  queues,
  runId,
  tlsCa,
  password,
  unmapped,
  append,
}).superRefine((o, ctx) => {
  checkVerboseWithJson(o, ctx);
  checkSomethingLookedAt(o, ctx);
  // Its own moves would land in the record it reads: the plan refuses it (resolve-routing.ts), only after connecting.
  if (o.runId !== undefined && o.runId === o.of) ctx.addIssue({ code: 'custom', path: ['runId'], message: `a rollback needs a run id of its own: ${o.runId} is the run it rolls back` });
}, despiteRunProblems);

export type RollbackOptions = z.output<typeof rollbackOptionsSchema>;
