import { createLambdaConnections } from './lambda-connections.js';
import { logger } from './powertools.js';

/**
 * The Redis connections of this container, configured from process.env at cold start and reused
 * by every invocation (each Lambda function is its own bundle, so its own container).
 */
// A password the server does not ask for is worth a look (another environment's URL?), not a failure.
export const connections = createLambdaConnections(process.env, { connect: { notice: (message) => logger.warn(message) } });

if (connections.problems.length > 0) {
  logger.error('Invalid connection configuration: every task will fail with InvalidInputError until it is fixed', { problems: connections.problems });
}
