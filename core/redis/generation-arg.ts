/**
 * An execution's generation as one script argument (lib/claim-lock.lua lockTaken): when its plan
 * took the run's lock (epoch ms, the lock's plannedAt), then, after one space, the execution that
 * planned (plannedBy: an ARN or a local execution's name, which hold no spaces); '' when unknown
 * (an older version's settings: nothing compared). One argument rather than two, so that the
 * variadic write scripts keep their layout: two starts of a run in one millisecond are told apart
 * by plannedBy alone.
 */
export function generationArg(generation: { readonly plannedAt?: number; readonly plannedBy?: string }): string {
  if (generation.plannedAt === undefined) return '';
  return generation.plannedBy === undefined ? String(generation.plannedAt) : `${generation.plannedAt} ${generation.plannedBy}`;
}

/** Only the generation's fields that are known (exactOptionalPropertyTypes: none set to undefined). */
export function generationFieldsOf(generation: { readonly plannedAt?: number; readonly plannedBy?: string }): { plannedAt?: number; plannedBy?: string } {
  return { ...(generation.plannedAt !== undefined ? { plannedAt: generation.plannedAt } : {}), ...(generation.plannedBy !== undefined ? { plannedBy: generation.plannedBy } : {}) };
}
