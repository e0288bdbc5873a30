import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Validations } from 'aws-cdk-lib';
import { executionsAsNagNamesThem } from './nag-acknowledgements.js';
import { Construct } from 'constructs';
import { ENDED_STATUSES } from '../../functions/support/task-inputs.js';

export interface ExecutionEndedRuleProps {
  /** Resource name prefix ("sidekiq-migrate"). */
  readonly name: string;
  readonly stateMachine: sfn.StateMachine;
  /** functions/execution-ended.ts. */
  readonly function: lambda.IFunction;
  /** Where undeliverable events go (the function's own dead-letter queue, see MigrationFunctions). */
  readonly deadLetterQueue: sqs.IQueue;
  readonly topic: sns.ITopic;
}

/**
 * StopExecution (the console, `sidekiq-migrate stop`) and a timeout end an execution without its
 * "Release the run lock" state, and a page Lambda already running would go on. This rule sends
 * the end of each execution of this state machine that did not succeed (ABORTED, TIMED_OUT,
 * FAILED) to the execution-ended function, which sets the run's stop marker and releases its
 * lock. Events it cannot deliver, and events the function still fails on after its retries, land
 * in the dead-letter queue, which raises an alarm: the lock then expires on its own (20 min).
 */
export class ExecutionEndedRule extends Construct {
  readonly rule: events.Rule;
  readonly deadLettersAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ExecutionEndedRuleProps) {
    super(scope, id);
    this.rule = new events.Rule(this, 'Rule', {
      ruleName: `${props.name}-execution-ended`,
      description: 'Ends of migration executions that did not succeed: stop the run, release its lock',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        // This machine's own executions (continuations included); its map runs' children have another ARN.
        detail: { stateMachineArn: [props.stateMachine.stateMachineArn], status: [...ENDED_STATUSES] },
      },
    });
    // The invoke permission is scoped to this rule (aws:SourceArn); the queue policy likewise.
    this.rule.addTarget(
      new targets.LambdaFunction(props.function, {
        retryAttempts: 8,
        maxEventAge: Duration.hours(2),
        deadLetterQueue: props.deadLetterQueue,
      }),
    );

    // An event over EventBridge's size limit comes without the execution's input: the function reads
    // it with DescribeExecution (this state machine's executions only).
    props.stateMachine.grantExecution(props.function, 'states:DescribeExecution');
    if (props.function.role) {
      Validations.of(props.function.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${executionsAsNagNamesThem(props.stateMachine)}:*]`,
        reason: "DescribeExecution of the execution an event names (its input, when over EventBridge's size limit): execution names are chosen at run time; the wildcard covers only this state machine's executions.",
      });
    }

    this.deadLettersAlarm = new cloudwatch.Alarm(this, 'DeadLetters', {
      alarmName: `${props.name}-execution-ended-dead-letters`,
      alarmDescription:
        "An execution ended (stopped, timed out or failed) but its clean-up did not run, or ran on a transfer's source only (its target did not answer; the error says so): the event is in the dead-letter queue. A run lock left expires on its own 20 minutes after its last renewal; a Lambda still running for a stopped run goes on until then, unless the run was stopped on its source. See the execution-ended function log group for the error.",
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.deadLettersAlarm.addAlarmAction(new actions.SnsAction(props.topic));
  }
}
