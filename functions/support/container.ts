import { createLambdaConnections } from './lambda-connections.js';
import { logger } from './powertools.js';

/**
 * The Redis connections of this container, configured from process.env at cold start and reused
 * by every invocation (each Lambda function is its own bundle, so its own container).
 */
export const connections = createLambdaConnections(process.env);

if (connections.problems.length > 0) {
  logger.error('Invalid connection configuration: every task will fail with InvalidInputError until it is fixed', { problems: connections.problems });
}
