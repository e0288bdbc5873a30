/**
 * The name the local state machine has: in its synthesized definition (build time) and in the
 * ARNs and `$$.StateMachine` context of local executions (run time). A module of its own, so that
 * `npm run build:definition` never reads the artifact it regenerates (even one left broken by a merge).
 */
export const LOCAL_STATE_MACHINE_NAME = 'sidekiq-migrate-local';
