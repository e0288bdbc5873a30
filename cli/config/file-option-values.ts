import type { ConfigFile } from '../../core/config/config-file.js';

/** The options that say where jobs go: given on the command line, they replace the file's whole `routing` (but ROUTING_FORM_OPTIONS). */
export const ROUTING_OPTIONS = ['catalog', 'rules', 'environment', 'mapping', 'rename'] as const;

/**
 * The routing options that give a routing (rules and their catalog, a mapping, renames): one typed
 * replaces the file's whole `routing`, as two routings would not mix. `--environment` alone only
 * says which section of the rules (and of move's and drain-check's redis.yml) to read: typed
 * beside the file's rules, it replaces the file's `environment` and keeps its rules. It dropped
 * them: `move --redis-yml … --environment staging` moved without the file's re-routing, unsaid.
 */
export const ROUTING_FORM_OPTIONS = ['catalog', 'rules', 'mapping', 'rename'] as const;

/** The options that say which classes a move carries: one given on the command line replaces the file's. */
export const SELECTION_OPTIONS = ['classes', 'classesFile', 'store'] as const;

/**
 * The file's settings as commander would have produced them from flags (`sets` as one
 * comma-separated string, `catalog` and `rename` as lists of strings), keyed by option name, so
 * that the command's own schema validates them exactly as it validates flags.
 */
export function fileOptionValues(config: ConfigFile): Record<string, unknown> {
  const { routing, aws, sets, classes, ...flat } = config;
  const values: Record<string, unknown> = { ...flat, ...routing, ...aws };
  if (sets !== undefined) values['sets'] = sets.join(',');
  if (classes !== undefined) values['classes'] = classes.join(',');
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
}
