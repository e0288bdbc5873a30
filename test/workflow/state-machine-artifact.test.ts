import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFINITION_ARTIFACT, definitionArtifactText, synthesizeDefinition } from '../../infra/local/synthesize-definition.js';
import { workflowDefinition } from '../../infra/local/workflow-definition.js';
import { repoPath } from '../support/paths.js';

// The local runner runs infra/local/migration-workflow.asl.json, not a fresh synthesis (that
// would load the CDK on every `sidekiq-migrate run`): the file must be what CDK synthesizes now.
describe('the generated state machine definition', () => {
  const synthesized = synthesizeDefinition();

  it('is exactly what CDK synthesizes from MigrationWorkflow now', () => {
    const committed = readFileSync(repoPath(DEFINITION_ARTIFACT), 'utf8');

    expect(committed, `${DEFINITION_ARTIFACT} differs from the synthesized workflow: run \`npm run build:definition\` and commit it`).toBe(definitionArtifactText(synthesized));
  });

  it('is what the local runner runs', () => {
    expect(workflowDefinition()).toEqual(synthesized);
  });

  it('gives each run a copy of its own', () => {
    const first = workflowDefinition();
    (first as { StartAt: string }).StartAt = 'changed by a run';

    expect(workflowDefinition()['StartAt']).toBe(synthesized['StartAt']);
  });
});
