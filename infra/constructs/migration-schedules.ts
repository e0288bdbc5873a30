import { Aws, Duration, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { validateConfig } from '../../core/config/validate-config.js';
import { workflowInputSchema } from '../../core/workflow/workflow-input.js';

export interface DrainCheckScheduleOptions {
  /** How often (default 5 minutes). */
  readonly rate?: Duration;
  /** The connection checked (default "source"). */
  readonly connection?: string;
  /** Queues that should receive nothing any more: the check is scoped to them. */
  readonly retiredQueues?: readonly string[];
  /** Off: the schedule exists but does not run (default on). */
  readonly enabled?: boolean;
  /**
   * A move out of the checked source (its run id): each check also looks at the "target"
   * connection, whether it still carries the id the move found there (functions/drain-check.ts).
   */
  readonly runId?: string;
}

export interface SweepScheduleOptions {
  /** How often an execution sweeps leftovers (keep it longer than one sweep takes). */
  readonly rate: Duration;
  /** The execution input (WorkflowInput) without `runId`: each sweep gets `sweep-<scheduler execution id>`. */
  readonly input: Readonly<Record<string, unknown>>;
  readonly enabled?: boolean;
}

export interface MigrationSchedulesProps {
  readonly name: string;
  readonly drainCheckFunction: lambda.IFunction;
  readonly stateMachine: sfn.IStateMachine;
  /** Connection names the functions are configured with. */
  readonly connections: readonly string[];
  readonly drainCheck?: DrainCheckScheduleOptions;
  readonly sweep?: SweepScheduleOptions;
}

/** The input of each sweep execution: the configured input, a run id per scheduled invocation. */
export function sweepInput(input: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return { ...input, runId: `sweep-${scheduler.ContextAttribute.executionId}` };
}

/**
 * EventBridge Scheduler: the drain check on a rate (it publishes its metrics itself, as EMF; the
 * alarms judge them), and optionally an execution of the migration on a rate, to sweep jobs that
 * arrived on the old side after the cut-over. A sweep that starts while the previous one still
 * runs is refused by the run lock (its execution fails, and the failed-executions alarm says so):
 * keep the rate longer than a sweep takes.
 */
export class MigrationSchedules extends Construct {
  readonly drainCheck: scheduler.Schedule;
  readonly sweep?: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: MigrationSchedulesProps) {
    super(scope, id);
    const options = props.drainCheck ?? {};
    const rate = options.rate ?? Duration.minutes(5);
    const connection = options.connection ?? 'source';
    // One role for both targets, assumable by this account's schedules only.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } } }),
      description: 'sidekiq-migrate schedules: invoke the drain check, start sweep executions',
    });
    this.drainCheck = new scheduler.Schedule(this, 'DrainCheck', {
      scheduleName: `${props.name}-drain-check`,
      description: `Drain check of ${connection}: what is left on it, and whether anyone will run it`,
      schedule: scheduler.ScheduleExpression.rate(rate),
      enabled: options.enabled ?? true,
      target: new targets.LambdaInvoke(props.drainCheckFunction, {
        // `scheduled`: its metrics are the series the drain alarms judge (an on-demand check's are not).
        input: scheduler.ScheduleTargetInput.fromObject({ connection, ...(options.retiredQueues?.length ? { retiredQueues: [...options.retiredQueues] } : {}), ...(options.runId ? { runId: options.runId } : {}), scheduled: true }),
        // A late check is worthless once the next one is due.
        retryAttempts: 2,
        maxEventAge: Duration.seconds(Math.max(60, rate.toSeconds())),
        role,
      }),
    });
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(props.drainCheckFunction.node.defaultChild as CfnElement)}.Arn>:*]`,
      reason: 'The scheduler target grants the drain-check function and its versions and aliases (ARN:*); the schedule invokes the unqualified function only.',
    });

    if (props.sweep) {
      checkSweepInput(props.sweep.input, props.connections);
      this.sweep = new scheduler.Schedule(this, 'Sweep', {
        scheduleName: `${props.name}-sweep`,
        description: 'Starts a migration execution that sweeps jobs left behind after the cut-over',
        schedule: scheduler.ScheduleExpression.rate(props.sweep.rate),
        enabled: props.sweep.enabled ?? true,
        target: new targets.StepFunctionsStartExecution(props.stateMachine, {
          input: scheduler.ScheduleTargetInput.fromObject(sweepInput(props.sweep.input)),
          retryAttempts: 2,
          maxEventAge: Duration.hours(1),
          role,
        }),
      });
    }
  }
}

/** The sweep's input, checked now with the schema the plan step applies at run time. */
function checkSweepInput(input: Readonly<Record<string, unknown>>, connections: readonly string[]): void {
  if ('runId' in input) throw new Error('sweep.input: leave out runId: each sweep execution gets its own (sweep-<scheduler execution id>)');
  const parsed = validateConfig(workflowInputSchema, { ...input, runId: 'sweep-0123456789abcdef' }, (path) => `sweep.input.${path.join('.')}`);
  for (const name of [parsed.source, ...(parsed.target !== undefined ? [parsed.target] : [])]) {
    if (!connections.includes(name)) throw new Error(`sweep.input: connection "${name}" is not configured (configured: ${connections.join(', ')})`);
  }
}
