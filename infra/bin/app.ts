import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readDeploymentConfig, standInCodeRequested } from '../stacks/deployment-config.js';
import { SidekiqMigrateStack } from '../stacks/sidekiq-migrate-stack.js';

/**
 * The CDK app (cdk.json): one stack, configured by the `sidekiqMigrate` context or the file named
 * by `sidekiqMigrate:configFile` (infra/stacks/README.md). cdk-nag's AWS Solutions rules run at
 * synth: an unacknowledged error fails it.
 */
const app = new App();
try {
  const config = readDeploymentConfig(app.node);
  new SidekiqMigrateStack(app, config.stackName ?? 'SidekiqMigrate', { config, functionCode: standInCodeRequested(app.node) ? 'stand-in' : 'bundled' });
} catch (error) {
  // Configuration mistakes (a cluster-mode endpoint, a bad sweep input…) are the user's to fix:
  // the message says what; a stack trace would bury it.
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
