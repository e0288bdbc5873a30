/** The CLI's exit codes; scripts and pipelines rely on them. */
export const ExitCode = {
  ok: 0,
  /** The operation ran and failed (Redis unreachable, jobs left that could not be moved…). */
  failed: 1,
  /** Bad usage or bad input: nothing was touched. */
  badInput: 2,
} as const;
