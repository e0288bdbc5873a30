import { extractDefinition } from './extract-definition.js';
import { synthesizeLocalWorkflow } from './local-workflow-stack.js';

/** Where the generated definition is committed, relative to the repository root. */
export const DEFINITION_ARTIFACT = 'infra/local/migration-workflow.asl.json';

/**
 * The local state machine's definition as CDK synthesizes it now (it loads the CDK: seconds and
 * hundreds of MB). Build time only: `npm run build:definition` writes it to DEFINITION_ARTIFACT,
 * which the local runner reads instead.
 */
export function synthesizeDefinition(): Record<string, unknown> {
  return extractDefinition(synthesizeLocalWorkflow().workflow.stateMachine);
}

/** The artifact's text: stable, reviewable JSON. */
export function definitionArtifactText(definition: Record<string, unknown>): string {
  return `${JSON.stringify(definition, null, 2)}\n`;
}
