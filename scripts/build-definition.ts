/**
 * `npm run build:definition`: writes infra/local/migration-workflow.asl.json, the state machine
 * definition MigrationWorkflow (infra/constructs/migration-workflow.ts) synthesizes, which the
 * local runner (`sidekiq-migrate run`/`move`) runs without loading the CDK. Run it after changing
 * the workflow: test/workflow/state-machine-artifact.test.ts fails while the file differs.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFINITION_ARTIFACT, definitionArtifactText, synthesizeDefinition } from '../infra/local/synthesize-definition.js';

writeFileSync(fileURLToPath(new URL(`../${DEFINITION_ARTIFACT}`, import.meta.url)), definitionArtifactText(synthesizeDefinition()));
process.stdout.write(`wrote ${DEFINITION_ARTIFACT}\n`);
