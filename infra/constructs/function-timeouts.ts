/**
 * A workflow function's timeout unless the deployment sets one (a page task stops 45 s before it).
 * No CDK import: the local runner, which must not load the CDK, enforces it too.
 */
export const WORKFLOW_FUNCTION_TIMEOUT_SECONDS = 300;

/** The drain check function's timeout; `drain-check` run from the CLI keeps to the same bounds (core/drain/check-budget.ts). */
export const DRAIN_CHECK_FUNCTION_TIMEOUT_SECONDS = 120;
