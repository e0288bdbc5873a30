import type { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { METRIC_NAMESPACE, MetricDimensions, MetricModes, SERVICE_NAME, type MetricName } from '../../functions/support/metric-names.js';

export type MetricMode = (typeof MetricModes)[keyof typeof MetricModes];

/**
 * One of the metrics the handlers emit (EMF, functions/support/metric-names.ts), with the full
 * dimension set they publish it under: CloudWatch only finds a metric by namespace, name and all
 * of its dimensions (`service` and `mode`).
 */
export function handlerMetric(metricName: MetricName, mode: MetricMode, options: { statistic: string; period: Duration; label?: string }): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRIC_NAMESPACE,
    metricName,
    dimensionsMap: { [MetricDimensions.service]: SERVICE_NAME, [MetricDimensions.mode]: mode },
    statistic: options.statistic,
    period: options.period,
    ...(options.label !== undefined ? { label: options.label } : {}),
  });
}
