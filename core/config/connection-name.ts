import { z } from 'zod';

/**
 * The one rule for a connection name of a deployment (`source`, `target`, `old-redis`): what
 * `start --source/--target` and `drain-check --connection` take, and what the CDK app (the
 * SidekiqMigration construct's connections, its drain check's connection) deploys, so that a name
 * deployed is a name the CLI takes, and the other way round. Lowercase: the functions find a
 * connection by SIDEKIQ_MIGRATE_<NAME>_URL (functions/support/connection-env.ts), where `Old_Redis`,
 * `old_redis` and `old-redis` would all be OLD_REDIS.
 */
const CONNECTION_NAME = /^[a-z][a-z0-9-]{0,30}$/;

/** What is wrong with `name` as a connection name (the value quoted; a blank one said as such), or undefined. */
export function connectionNameProblem(name: string): string | undefined {
  if (CONNECTION_NAME.test(name)) return undefined;
  const blank = name === '' ? 'not empty' : name.trim() === '' ? 'not blank' : undefined;
  return blank
    ? `a connection name of the deployment (e.g. source or target), ${blank}`
    : `${JSON.stringify(name)} is not a connection name of the deployment (e.g. source or target): lowercase letters, digits and "-", starting with a letter, at most 31`;
}

/**
 * A connection of the deployment (`start --source/--target`, `drain-check --connection`). The
 * function looks a name up case-folded, so `--connection Source` or `'source '` reached it (an
 * invocation) and came back naming no option: refused here, the value quoted.
 */
export const connectionName = z.string().superRefine((name, ctx) => {
  const problem = connectionNameProblem(name);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
