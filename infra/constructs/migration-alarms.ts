import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DrainStateValues, MetricModes, MetricNames } from '../../functions/support/metric-names.js';
import { handlerMetric } from './handler-metrics.js';
import type { MigrationFunctionName } from './migration-functions.js';

export interface DrainAlarmOptions {
  /** The drain checks' schedule rate: one data point per period. */
  readonly period: Duration;
  /** Consecutive checks with orphans (or stuck) before the alarm (default 3). */
  readonly persistPeriods?: number;
  /** The connection checked, for the alarm texts. */
  readonly connection: string;
}

export interface MigrationAlarmsProps {
  /** Resource name prefix ("sidekiq-migrate"). */
  readonly name: string;
  readonly stateMachine: sfn.IStateMachine;
  readonly functions: Readonly<Record<MigrationFunctionName, lambda.IFunction>>;
  readonly topic: sns.ITopic;
  /** Alarms on the drain checks' metrics, when they are scheduled. */
  readonly drain?: DrainAlarmOptions;
  /** Errors of one function in 5 minutes that raise its alarm (default 1). */
  readonly functionErrorThreshold?: number;
}

/**
 * The alarms, each notifying the topic when it goes into ALARM: failed executions, errors of each
 * function, and from the scheduled drain checks: orphans that persist, a Redis stuck, and the
 * Redis drained (good news, sent once when it happens).
 */
export class MigrationAlarms extends Construct {
  readonly executionsFailed: cloudwatch.Alarm;
  readonly functionErrors: Record<MigrationFunctionName, cloudwatch.Alarm>;
  readonly orphansPersist?: cloudwatch.Alarm;
  readonly drainStuck?: cloudwatch.Alarm;
  readonly drained?: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: MigrationAlarmsProps) {
    super(scope, id);
    const notify = new actions.SnsAction(props.topic);
    const alarm = (alarmId: string, alarmProps: cloudwatch.AlarmProps) => {
      const a = new cloudwatch.Alarm(this, alarmId, { treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING, ...alarmProps });
      a.addAlarmAction(notify);
      return a;
    };

    this.executionsFailed = alarm('ExecutionsFailed', {
      alarmName: `${props.name}-executions-failed`,
      alarmDescription: 'A migration execution failed (its run lock was released). Open the execution in the Step Functions console: the failed state and its error say what to fix; run it again to resume.',
      metric: props.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
    });

    this.functionErrors = {} as Record<MigrationFunctionName, cloudwatch.Alarm>;
    for (const [name, fn] of Object.entries(props.functions) as [MigrationFunctionName, lambda.IFunction][]) {
      this.functionErrors[name] = alarm(`${name}Errors`, {
        alarmName: `${props.name}-${name}-errors`,
        alarmDescription: `The ${name} function failed. Retryable errors are retried by the state machine; see the function's log group for the error name (InvalidInputError, RetryableError, FatalError) and message.`,
        metric: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: props.functionErrorThreshold ?? 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      });
    }

    if (props.drain) {
      const { period, connection } = props.drain;
      const persist = props.drain.persistPeriods ?? 3;
      this.orphansPersist = alarm('OrphansPersist', {
        alarmName: `${props.name}-${connection}-orphans-persist`,
        alarmDescription: `${persist} drain checks in a row found jobs on ${connection} that nobody will run (queues no process listens to, or scheduled jobs bound for them). Move them: run the migration again (or let the sweep do it), or route the queue.`,
        metric: handlerMetric(MetricNames.OrphanedJobs, MetricModes.drainCheck, { statistic: 'Minimum', period }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: persist,
        datapointsToAlarm: persist,
      });
      this.drainStuck = alarm('DrainStuck', {
        alarmName: `${props.name}-${connection}-drain-stuck`,
        alarmDescription: `${persist} drain checks in a row judged ${connection} stuck (DrainState ${DrainStateValues.stuck}): orphans, jobs left in flight by an interrupted transfer, or retired queues still receiving jobs. The drain check's log line gives the reasons.`,
        metric: handlerMetric(MetricNames.DrainState, MetricModes.drainCheck, { statistic: 'Minimum', period }),
        threshold: DrainStateValues.stuck,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: persist,
        datapointsToAlarm: persist,
      });
      // Drained, and nothing on the Redis that nobody will run: a check scoped to retired queues can
      // be drained with orphans elsewhere, and another prefix can hold jobs no Sidekiq runs.
      // Both are non-negative, so their sum is 0 only when both are (missing data: no alarm).
      const drainedAndNothingUnrun = new cloudwatch.MathExpression({
        expression: 'state + unrun',
        usingMetrics: {
          state: handlerMetric(MetricNames.DrainState, MetricModes.drainCheck, { statistic: 'Maximum', period }),
          unrun: handlerMetric(MetricNames.UnrunJobs, MetricModes.drainCheck, { statistic: 'Maximum', period }),
        },
        label: 'DrainState + UnrunJobs',
        period,
      });
      this.drained = alarm('Drained', {
        alarmName: `${props.name}-${connection}-drained`,
        alarmDescription: `The drain check found ${connection} drained (DrainState ${DrainStateValues.drained}, RemainingJobs 0: nothing queued, scheduled, retrying or in flight) and nothing on it that nobody will run (UnrunJobs 0, under any prefix). Dead jobs may remain (the log line counts them). This is the go-ahead for decommissioning it.`,
        metric: drainedAndNothingUnrun,
        threshold: DrainStateValues.drained,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      });
    }
  }

  /** Every alarm, for the dashboard's status widget. */
  get all(): cloudwatch.Alarm[] {
    return [this.executionsFailed, ...Object.values(this.functionErrors), ...[this.orphansPersist, this.drainStuck, this.drained].filter((a): a is cloudwatch.Alarm => a !== undefined)];
  }
}
