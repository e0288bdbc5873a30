import { z } from 'zod';

const CATALOG_REQUIRED = "required: the worker catalog (GitLab's app/workers/all_queues.yml; repeat for EE)";

/** One or more catalog paths; missing and empty both say what is needed. */
const requiredCatalogField = z
  .array(z.string().min(1, 'a catalog path cannot be empty'), { error: CATALOG_REQUIRED })
  .min(1, CATALOG_REQUIRED);

/**
 * The gitlab.yml (or redis.yml) section to read: `--environment`. A blank one (`--environment "$ENV "`
 * with ENV unset) was taken and said as the rules file's problem, its blanks invisible
 * ("… or a gitlab.yml with   .sidekiq.routing_rules"): refused naming the option, as an empty one.
 */
export const gitLabSection = z.string().superRefine((name, ctx) => {
  if (name === '') ctx.addIssue({ code: 'custom', message: 'a gitlab.yml section (e.g. production) cannot be empty' });
  else if (name.trim() === '') ctx.addIssue({ code: 'custom', message: 'a gitlab.yml section (e.g. production) cannot be blank' });
});

/**
 * How the user says where jobs go. Exactly one form: GitLab routing rules over a worker catalog,
 * an explicit class → queue mapping file, or queue renames. Shared by every command that routes.
 */
export const routingOptionsSchema = z
  .strictObject({
    catalog: z.array(z.string().min(1, 'a catalog path cannot be empty')).default([]),
    rules: z.string().min(1, 'a rules path cannot be empty').optional(),
    environment: gitLabSection.default('production'),
    mapping: z.string().min(1, 'a mapping path cannot be empty').optional(),
    rename: z.array(z.string()).default([]),
    strict: z.boolean().default(false),
  })
  .superRefine((o, ctx) => {
    const forms = [o.rules !== undefined || o.catalog.length > 0, o.mapping !== undefined, o.rename.length > 0].filter(Boolean).length;
    if (forms > 1) {
      ctx.addIssue({ code: 'custom', message: 'give one of --catalog/--rules, --mapping or --rename, not several' });
    }
    if (o.rules !== undefined && o.catalog.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['catalog'], message: "routing rules need the worker catalog they select from (GitLab's app/workers/all_queues.yml)" });
    }
    if (o.catalog.length > 0 && o.rules === undefined) {
      ctx.addIssue({ code: 'custom', path: ['rules'], message: 'a catalog needs routing rules: a JSON/YAML list of [query, queue] pairs, or gitlab.yml' });
    }
  });

export type RoutingOptions = z.output<typeof routingOptionsSchema>;

/** The GitLab form alone, for commands that need a catalog and rules (`routes`). */
export const gitLabRulesOptionsSchema = z.strictObject({
  catalog: requiredCatalogField,
  rules: z.string({ error: 'required: a JSON/YAML list of [query, queue] pairs, or gitlab.yml' }).min(1, 'a rules path cannot be empty'),
  environment: gitLabSection.default('production'),
  strict: z.boolean().default(false),
});

/** A catalog and one query (`match`). */
export const matchOptionsSchema = z.strictObject({
  catalog: requiredCatalogField,
  query: z.string({ error: 'required: a worker matching query such as "urgency=high&resource_boundary!=cpu"' }),
  strict: z.boolean().default(false),
});
