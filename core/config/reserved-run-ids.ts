/**
 * Names the tool keeps key families of its own under, beside runs' records: `<prefix>sidekiq-migrate:`
 * then a run id and `:moves`, `:items`, `:routing`… for a run; `quarantine:<queue>` for the
 * quarantine lists, `drain-check:<scope>` for the deployed drain check's memory,
 * `claim-marker:<uuid>` for a selective claim's marker (sidekiq-keys.ts, remembered-check.ts,
 * selective-queue-transfer.ts). A run under one of them would share keys with that family: under
 * `quarantine`, a retired queue named `moves` had its quarantine list in the run's record of moves,
 * and the Lua call that quarantined a job there removed it from its queue and then failed to push
 * it (WRONGTYPE): the job was lost. (`lock`, `target-id` and `permission-check` are whole keys:
 * a run's keys always go on after its id, so they never meet.)
 */
export const RESERVED_RUN_IDS: ReadonlySet<string> = new Set(['quarantine', 'drain-check', 'claim-marker']);

/** Why `runId` may not name a run, or undefined. */
export function reservedRunIdProblem(runId: string): string | undefined {
  if (!RESERVED_RUN_IDS.has(runId)) return undefined;
  return `"${runId}" is a name sidekiq-migrate keeps its own keys under (sidekiq-migrate:${runId}:…), beside the keys of a run's records (sidekiq-migrate:RUN:…); choose another run id`;
}

/** What is wrong with `runId` as a run id (the value quoted, as connection names are), or undefined. */
export function runIdProblem(runId: string): string | undefined {
  if (!/^[A-Za-z0-9_.-]{1,80}$/.test(runId)) return `${JSON.stringify(runId)} is not a run id: use 1–80 letters, digits, "_", "." or "-"`;
  return reservedRunIdProblem(runId);
}
