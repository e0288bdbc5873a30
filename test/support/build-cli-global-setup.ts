import { buildCli } from '../../scripts/build-cli.js';

/**
 * Compiles the CLI into dist/ before any test runs, so that tests which start
 * bin/sidekiq-migrate.js run what ships (the bundle), built from the sources under test.
 */
export default async function setup(): Promise<void> {
  await buildCli();
}
