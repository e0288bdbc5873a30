import definition from './migration-workflow.asl.json' with { type: 'json' };

/**
 * The migration state machine's definition, generated from the CDK construct by
 * `npm run build:definition` (scripts/build-definition.ts), so that a local run does not load the
 * CDK. test/workflow/state-machine-artifact.test.ts keeps it equal to what CDK synthesizes now.
 * A fresh copy: the emulator must not share state between runs.
 */
export function workflowDefinition(): Record<string, unknown> {
  return structuredClone(definition) as Record<string, unknown>;
}
