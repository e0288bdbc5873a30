import type { z } from 'zod';
import { awsSectionSchema, configFileSchema } from './config-file.js';

/** Names the configuration file, when neither `--config` nor the current directory does. */
export const CONFIG_FILE_VARIABLE = 'SIDEKIQ_MIGRATE_CONFIG';

export interface EnvironmentOption {
  /** The environment variable. */
  readonly variable: string;
  /** The option it sets (commander's attribute name, the config file's key). */
  readonly option: string;
  /** The same setting in the configuration file (a key path), which it overrides. */
  readonly fileKey: string;
  /** How its value is checked, with the file's rules. */
  readonly schema: z.ZodType;
  /**
   * Read by the AWS SDK itself: when set, the option is left out (rather than copied) so that the
   * SDK's own choice stands over the file's.
   */
  readonly readBySdk?: boolean;
}

const file = configFileSchema.shape;
const aws = awsSectionSchema.shape;

/**
 * Every environment variable that sets an option. Precedence: a flag on the command line, then
 * the variable, then the configuration file, then the option's default. An empty variable counts
 * as unset (CI systems often declare variables they leave empty).
 */
export const ENVIRONMENT_OPTIONS: readonly EnvironmentOption[] = [
  { variable: 'SIDEKIQ_MIGRATE_REDIS', option: 'redis', fileKey: 'redis', schema: file.redis },
  { variable: 'SIDEKIQ_MIGRATE_FROM', option: 'from', fileKey: 'from', schema: file.from },
  { variable: 'SIDEKIQ_MIGRATE_TO', option: 'to', fileKey: 'to', schema: file.to },
  { variable: 'SIDEKIQ_MIGRATE_NAMESPACE', option: 'namespace', fileKey: 'namespace', schema: file.namespace },
  { variable: 'SIDEKIQ_MIGRATE_TO_NAMESPACE', option: 'toNamespace', fileKey: 'toNamespace', schema: file.toNamespace },
  { variable: 'SIDEKIQ_MIGRATE_PASSWORD', option: 'password', fileKey: 'password', schema: file.password },
  { variable: 'SIDEKIQ_MIGRATE_FROM_PASSWORD', option: 'fromPassword', fileKey: 'fromPassword', schema: file.fromPassword },
  { variable: 'SIDEKIQ_MIGRATE_TO_PASSWORD', option: 'toPassword', fileKey: 'toPassword', schema: file.toPassword },
  { variable: 'SIDEKIQ_MIGRATE_STATE_MACHINE', option: 'stateMachine', fileKey: 'aws.stateMachine', schema: aws.stateMachine },
  { variable: 'SIDEKIQ_MIGRATE_STACK', option: 'stack', fileKey: 'aws.stack', schema: aws.stack },
  { variable: 'AWS_REGION', option: 'region', fileKey: 'aws.region', schema: aws.region, readBySdk: true },
];
