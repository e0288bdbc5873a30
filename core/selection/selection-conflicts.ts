/** The selection options as given (before any file is read). */
export interface SelectionOptionValues {
  readonly classes?: string;
  readonly classesFile?: string;
  readonly store?: string;
  readonly rules?: string;
}

/**
 * What is wrong with a combination of selection options, each problem once, with the option it is
 * about: checked by the commands' schemas (reported with every other problem) and again by
 * resolveClassSelection for callers without one.
 */
export function selectionConflicts(o: SelectionOptionValues): { option: 'classes' | 'classesFile' | 'store'; message: string }[] {
  const problems: { option: 'classes' | 'classesFile' | 'store'; message: string }[] = [];
  const given = [o.classes !== undefined, o.classesFile !== undefined, o.store !== undefined].filter(Boolean).length;
  if (given > 1) problems.push({ option: o.store !== undefined ? 'store' : 'classesFile', message: 'select classes one way: --classes, --classes-file or --store, not several' });
  if (o.store !== undefined && o.rules === undefined) problems.push({ option: 'store', message: "--store needs the routing rules that name stores: --catalog all_queues.yml --rules gitlab.yml" });
  return problems;
}
