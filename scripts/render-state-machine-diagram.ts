/**
 * `npm run diagram`: writes docs/state-machine.md (what each state does, and a Mermaid diagram)
 * from the MigrationWorkflow definition as CDK synthesizes it. Run it after changing the workflow:
 * test/workflow/state-machine-diagram.test.ts fails while the committed file differs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STATE_MACHINE_DOC, stateMachineDoc } from './state-machine-doc.js';

const path = fileURLToPath(new URL(`../${STATE_MACHINE_DOC}`, import.meta.url));
mkdirSync(dirname(path), { recursive: true });
writeFileSync(path, stateMachineDoc());
console.log(`wrote ${STATE_MACHINE_DOC}`);
