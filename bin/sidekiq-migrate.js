#!/usr/bin/env node
// The `sidekiq-migrate` executable. The project is TypeScript run by tsx (no build step), so the
// CLI is exactly the code the tests exercise.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv);
