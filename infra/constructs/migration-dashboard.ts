import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { RerouteCounterMetrics, TransferCounterMetrics } from '../../functions/support/counter-metrics.js';
import { DrainStateValues, MetricModes, MetricNames, type MetricName } from '../../functions/support/metric-names.js';
import { handlerMetric, type MetricMode } from './handler-metrics.js';
import type { MigrationFunctionName } from './migration-functions.js';

export interface MigrationDashboardProps {
  readonly dashboardName: string;
  readonly stateMachine: sfn.IStateMachine;
  readonly functions: Readonly<Record<MigrationFunctionName, lambda.IFunction>>;
  readonly logGroups: Readonly<Record<MigrationFunctionName, logs.ILogGroup>>;
  readonly alarms: cloudwatch.IAlarm[];
  /** The drain checks' rate (their metrics have one data point per period), when scheduled. */
  readonly drainCheckPeriod?: Duration;
}

const MINUTE = Duration.minutes(1);

/** Progress counters graphed per mode, in the order a reader follows a job. */
export const PROGRESS_METRICS = {
  reroute: [MetricNames.JobsScanned, MetricNames.JobsMoved, MetricNames.JobsAlreadyRouted, MetricNames.JobsUnmapped, MetricNames.JobsUnparsable, MetricNames.JobsQuarantined, MetricNames.JobsVanished],
  transfer: [MetricNames.JobsClaimed, MetricNames.JobsWritten, MetricNames.JobsDuplicate, MetricNames.JobsUnmapped, MetricNames.JobsUnparsable],
} as const satisfies Record<'reroute' | 'transfer', readonly MetricName[]>;

export const DRAIN_METRICS = [MetricNames.QueueDepth, MetricNames.RemainingJobs, MetricNames.InflightJobs, MetricNames.OrphanedJobs, MetricNames.QuarantinedJobs, MetricNames.RetiredQueueArrivals, MetricNames.UnrunJobs] as const;

const EXPLANATION = `# Sidekiq migration
Counters come from the Lambda handlers (EMF, namespace \`SidekiqMigrate\`), **per mode** (re-route inside one Redis, transfer between two), one data point per task invocation.
They carry no per-set or per-queue dimension: with one queue per worker that would be thousands of metrics. **Per set and queue**, see the table below (from the page tasks' log lines: \`itemKind\`, \`itemName\`, \`counters\`), or each item's counters in the execution output.
*Skipped* jobs stay where they were: already routed, unmapped (no destination for their class), unparsable, or vanished (taken by Sidekiq meanwhile). Unmapped jobs are quarantined instead when the run says so.
Drain checks (scheduled) report what is left on the Redis they watch: DrainState ${DrainStateValues.drained} drained, ${DrainStateValues.draining} draining, ${DrainStateValues.stuck} stuck.`;

/**
 * The console view of a migration: progress of the current run (jobs per minute and totals per
 * mode, a per-item table from the logs), what the drain checks see, executions by status, the
 * functions' errors, durations and throttles, Redis connection errors, and the alarms.
 */
export class MigrationDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MigrationDashboardProps) {
    super(scope, id);
    const perMinute = (mode: MetricMode) => (name: MetricName) => handlerMetric(name, mode, { statistic: 'Sum', period: MINUTE, label: name });
    const functions = Object.entries(props.functions) as [MigrationFunctionName, lambda.IFunction][];
    const perFunction = (metric: (fn: lambda.IFunction) => cloudwatch.Metric) => functions.map(([name, fn]) => metric(fn).with({ label: name }));

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: props.dashboardName, defaultInterval: Duration.hours(3) });
    this.dashboard.addWidgets(new cloudwatch.TextWidget({ markdown: EXPLANATION, width: 24, height: 4 }));
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Re-route: jobs per minute', left: PROGRESS_METRICS.reroute.map(perMinute(MetricModes.reroute)), width: 12 }),
      new cloudwatch.GraphWidget({ title: 'Transfer: jobs per minute', left: PROGRESS_METRICS.transfer.map(perMinute(MetricModes.transfer)), width: 12 }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.SingleValueWidget({
        title: 'Re-route: totals over the time range',
        metrics: PROGRESS_METRICS.reroute.map(perMinute(MetricModes.reroute)),
        setPeriodToTimeRange: true,
        width: 12,
      }),
      new cloudwatch.SingleValueWidget({
        title: 'Transfer: totals over the time range',
        metrics: PROGRESS_METRICS.transfer.map(perMinute(MetricModes.transfer)),
        setPeriodToTimeRange: true,
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.LogQueryWidget({
        title: 'Per set and queue (page task logs): jobs handled in the time range',
        logGroupNames: (['rerouteSetPage', 'rerouteQueueSlice', 'transferSet', 'transferQueue'] as const).map((n) => props.logGroups[n].logGroupName),
        queryLines: perItemQuery(),
        view: cloudwatch.LogQueryVisualizationType.TABLE,
        width: 24,
        height: 8,
      }),
    );

    const drainPeriod = props.drainCheckPeriod ?? Duration.minutes(5);
    const drainMetric = (name: MetricName, statistic = 'Maximum') => handlerMetric(name, MetricModes.drainCheck, { statistic, period: drainPeriod, label: name });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Drain checks: jobs left (queue depth, remaining, in flight, orphans, quarantined, arrivals on retired queues, nobody will run under any prefix)', left: DRAIN_METRICS.map((n) => drainMetric(n)), width: 16 }),
      new cloudwatch.GraphWidget({
        title: 'Drain state (0 drained, 1 draining, 2 stuck)',
        left: [drainMetric(MetricNames.DrainState)],
        leftYAxis: { min: 0, max: DrainStateValues.stuck, showUnits: false },
        leftAnnotations: [
          { value: DrainStateValues.drained, label: 'drained', color: cloudwatch.Color.GREEN },
          { value: DrainStateValues.stuck, label: 'stuck', color: cloudwatch.Color.RED },
        ],
        width: 8,
      }),
    );

    const sm = props.stateMachine;
    const fiveMinutes = { period: Duration.minutes(5), statistic: 'Sum' };
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Executions by status',
        left: [
          sm.metricStarted(fiveMinutes).with({ label: 'started' }),
          sm.metricSucceeded(fiveMinutes).with({ label: 'succeeded' }),
          sm.metricFailed(fiveMinutes).with({ label: 'failed', color: cloudwatch.Color.RED }),
          sm.metricTimedOut(fiveMinutes).with({ label: 'timed out' }),
          sm.metricAborted(fiveMinutes).with({ label: 'aborted' }),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Redis connection errors (per mode)',
        left: Object.values(MetricModes).map((mode) => handlerMetric(MetricNames.RedisConnectionErrors, mode, { statistic: 'Sum', period: MINUTE, label: mode })),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Pages processed (per mode)',
        left: [MetricModes.reroute, MetricModes.transfer].map((mode) => handlerMetric(MetricNames.PagesProcessed, mode, { statistic: 'Sum', period: MINUTE, label: mode })),
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Lambda errors', left: perFunction((fn) => fn.metricErrors({ period: MINUTE, statistic: 'Sum' })), width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Lambda duration (maximum)', left: perFunction((fn) => fn.metricDuration({ period: MINUTE, statistic: 'Maximum' })), width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Lambda throttles', left: perFunction((fn) => fn.metricThrottles({ period: MINUTE, statistic: 'Sum' })), width: 8 }),
    );
    this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: props.alarms, width: 24 }));
  }
}

/** Logs Insights: each page task's counters (from its one INFO line per invocation), summed per run and item. */
export function perItemQuery(): string[] {
  const counters = [...new Set([...Object.keys(RerouteCounterMetrics), ...Object.keys(TransferCounterMetrics)])];
  return [
    'fields @timestamp',
    'filter ispresent(itemName) and (ispresent(counters.scanned) or ispresent(counters.claimed))',
    `stats ${counters.map((c) => `sum(counters.${c}) as ${c}`).join(', ')}, max(@timestamp) as last by runId, itemKind, itemName`,
    'sort last desc',
    'limit 200',
  ];
}
