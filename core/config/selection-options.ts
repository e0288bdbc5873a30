import { z } from 'zod';
import { selectionConflicts, type SelectionOptionValues } from '../selection/selection-conflicts.js';
import { parseRedisUrl } from '../redis/redis-url.js';
import { emptyEntriesProblem } from './comma-list.js';

/** A store name of GitLab's redis.yml (`main`, `queues_shard_catchall_b`): a word, no scheme. */
export const STORE_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

/** Which classes a move carries (absent: every job) and where store names are defined. */
export const selectionOptionFields = {
  classes: z
    .string()
    .min(1, 'exact worker class names, comma-separated')
    .superRefine((text, ctx) => {
      const problem = text === '' ? undefined : emptyEntriesProblem(text, 'exact worker class names', 'Projects::ImportWorker,MergeWorker');
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  classesFile: z.string().min(1, 'a path, not empty').optional(),
  store: z.string().regex(STORE_NAME, 'a store name of the routing rules, e.g. queues_shard_catchall_b, or main').optional(),
  redisYml: z.string().min(1, 'a path, not empty').optional(),
};

/**
 * `--from`/`--to`/`--redis`: a Redis URL, checked by the connection's parser, or a store name,
 * resolved through `--redis-yml` once the file is read.
 */
export const redisEndpoint = (option: string, required: string) =>
  z.string({ error: required }).min(1, required).superRefine((value, ctx) => {
    if (value === '' || STORE_NAME.test(value)) return;
    try {
      parseRedisUrl(value, option);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message.replace(new RegExp(`^${option}:? `), '') });
    }
  });

/**
 * `--cron` copies every sidekiq-cron definition of the source: with a class selection (a shard
 * move) the source keeps running them too, so each schedule would push from both Redis servers.
 */
export const CRON_WITH_SELECTION =
  "--cron copies every sidekiq-cron definition of the source, not only the selected classes: with --classes, --classes-file or --store each schedule would push from both Redis servers. Leave the definitions where they are, or copy them with a move of every class. Nothing was touched.";

/** --cron with a selection of classes (said with the options' other problems, not after them). */
export function checkCronWithSelection(o: { cron?: boolean; classes?: string; classesFile?: string; store?: string }, ctx: z.RefinementCtx): void {
  if (o.cron && (o.classes !== undefined || o.classesFile !== undefined || o.store !== undefined)) ctx.addIssue({ code: 'custom', message: CRON_WITH_SELECTION });
}

/** The selection's problems, and store names given without the file that defines them. */
export function checkSelection(o: SelectionOptionValues & { redisYml?: string }, endpoints: Record<string, string | undefined>, ctx: z.RefinementCtx): void {
  for (const problem of selectionConflicts(o)) ctx.addIssue({ code: 'custom', path: [problem.option], message: problem.message });
  for (const [option, value] of Object.entries(endpoints)) {
    if (value !== undefined && STORE_NAME.test(value) && o.redisYml === undefined) {
      ctx.addIssue({ code: 'custom', path: [option], message: `${value} is not a Redis URL (redis://… or rediss://…); a store name needs --redis-yml config/redis.yml` });
    }
  }
}
