import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { METRIC_NAMESPACE, SERVICE_NAME } from './metric-names.js';

/**
 * The container's Powertools instances, created once at cold start. Log level, sampling and
 * tracing switches come from the usual POWERTOOLS_* variables; the service name and the metric
 * namespace are fixed here, because the dashboard depends on them.
 */
export const logger = new Logger({ serviceName: SERVICE_NAME });

/** EMF on stdout; Powertools adds the `service` dimension, the handlers add `mode`. */
export const metrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName: SERVICE_NAME, logger });

/** Off outside Lambda (tests, local runs): Powertools checks AWS_EXECUTION_ENV. */
export const tracer = new Tracer({ serviceName: SERVICE_NAME });
