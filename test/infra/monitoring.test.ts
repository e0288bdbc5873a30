import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { workflowInputSchema } from '../../core/workflow/workflow-input.js';
import { RerouteCounterMetrics, TransferCounterMetrics } from '../../functions/support/counter-metrics.js';
import { DrainStateValues, METRIC_NAMESPACE, MetricModes, MetricNames, SERVICE_NAME } from '../../functions/support/metric-names.js';
import { cdkJsonConfig, exampleConfig, flatten, logicalId, resources, synthesize, type Synthesized } from './support/stacks.js';

const trial = synthesize(cdkJsonConfig());
const pinned = synthesize(exampleConfig('trial-pinned'));
const enterprise = synthesize(exampleConfig('enterprise-to-elasticache'));

const ref = (s: Synthesized, construct: { node: { defaultChild?: unknown } }) => ({ Ref: logicalId(construct, s.stack) });
const arn = (s: Synthesized, construct: { node: { defaultChild?: unknown } }) => ({ 'Fn::GetAtt': [logicalId(construct, s.stack), 'Arn'] });
// CloudFormation gets the dimensions sorted by name.
const handlerDimensions = (mode: string) => [
  { Name: 'mode', Value: mode },
  { Name: 'service', Value: SERVICE_NAME },
];

describe('scheduled drain checks and sweeps (EventBridge Scheduler)', () => {
  it('runs the drain check on the configured rate, on the configured connection', () => {
    const drain = trial.stack.migration.functions.functions.drainCheck;
    trial.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Name: 'sidekiq-migrate-trial-drain-check',
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Target: { Arn: arn(trial, drain), Input: JSON.stringify({ connection: 'source', scheduled: true }), RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 } },
    });
    pinned.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Target: Match.objectLike({ Input: JSON.stringify({ connection: 'source', retiredQueues: ['mailers', 'default'], scheduled: true }) }),
    });
    enterprise.template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(10 minutes)' });
  });

  it('after a move (drainCheck.runId): the schedule names the run, and the drain check function reads the target connection too (only then)', () => {
    const config = exampleConfig('elasticache-transfer');
    const after = synthesize({ ...config, drainCheck: { ...(config['drainCheck'] as object | undefined), runId: 'final-move' } });
    const drain = after.stack.migration.functions.functions.drainCheck;
    after.template.hasResourceProperties('AWS::Scheduler::Schedule', { Target: Match.objectLike({ Arn: arn(after, drain), Input: Match.stringLikeRegexp('"runId":"final-move"') }) });
    const envOf = (s: Synthesized) => (resources(s.template, 'AWS::Lambda::Function')[logicalId(s.stack.migration.functions.functions.drainCheck, s.stack)]!.Properties['Environment'] as { Variables: Record<string, unknown> }).Variables;
    expect(Object.keys(envOf(after)).filter((k) => k.endsWith('_URL')).sort()).toEqual(['SIDEKIQ_MIGRATE_SOURCE_URL', 'SIDEKIQ_MIGRATE_TARGET_URL']);
    const without = synthesize(config);
    expect(Object.keys(envOf(without)).filter((k) => k.endsWith('_URL'))).toEqual(['SIDEKIQ_MIGRATE_SOURCE_URL']);
    expect(() => synthesize({ ...config, target: undefined, drainCheck: { runId: 'final-move' } })).toThrow(/drainCheck\.runId: there is no target connection/);
  });

  it("has Lambda retry no failed check: the scheduler invokes it asynchronously, and a late check is worthless once the next is due", () => {
    // Lambda's defaults for asynchronous invocations: 2 retries of a failed check, events kept 6 hours.
    const drain = trial.stack.migration.functions.functions.drainCheck;
    const configs = Object.values(resources(trial.template, 'AWS::Lambda::EventInvokeConfig')).filter((c) => JSON.stringify(c.Properties['FunctionName']) === JSON.stringify(ref(trial, drain)));
    expect(configs.map((c) => c.Properties)).toEqual([expect.objectContaining({ MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60, Qualifier: '$LATEST' })]);
  });

  it('starts a sweep execution on its rate, with a run id per scheduled invocation and an input the plan step accepts', () => {
    const [sweep] = Object.values(resources(pinned.template, 'AWS::Scheduler::Schedule')).filter((r) => r.Properties['Name'] === 'sidekiq-migrate-trial-pinned-sweep');
    const target = sweep!.Properties['Target'] as { Arn: unknown; Input: string };
    expect(sweep!.Properties['ScheduleExpression']).toBe('rate(30 minutes)');
    expect(target.Arn).toEqual(ref(pinned, pinned.stack.migration.stateMachine));
    const input = JSON.parse(target.Input) as Record<string, unknown>;
    expect(input['runId']).toBe('sweep-<aws.scheduler.execution-id>');
    // The scheduler fills in its execution id (e.g. d32c5kddcf5bb8c3): the plan step's schema must accept the result.
    expect(workflowInputSchema.safeParse({ ...input, runId: 'sweep-d32c5kddcf5bb8c3' }).success).toBe(true);
  });

  it('lets the schedules only invoke the drain check and start the state machine', () => {
    const role = logicalId(pinned.stack.migration.schedules.node.findChild('Role') as never, pinned.stack).replace(/[0-9A-F]{8}$/, '');
    const statements = Object.entries(resources(pinned.template, 'AWS::IAM::Policy'))
      .filter(([id]) => id.startsWith(role))
      .flatMap(([, p]) => (p.Properties['PolicyDocument'] as { Statement: { Action: string; Resource: unknown }[] }).Statement);
    const drain = `<${logicalId(pinned.stack.migration.functions.functions.drainCheck, pinned.stack)}.Arn>`;
    expect(statements.map((s) => [s.Action, [s.Resource].flat().map(flatten)])).toEqual([
      ['lambda:InvokeFunction', [drain, `${drain}:*`]],
      ['states:StartExecution', [`<Ref:${logicalId(pinned.stack.migration.stateMachine, pinned.stack)}>`]],
    ]);
  });

  it('keeps a disabled drain check’s schedule, off, and raises no drain alarms', () => {
    const off = synthesize({ ...cdkJsonConfig(), drainCheck: { enabled: false } });
    off.template.hasResourceProperties('AWS::Scheduler::Schedule', { State: 'DISABLED' });
    const names = Object.values(resources(off.template, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties['AlarmName']);
    expect(names.filter((n) => /orphans|drain-stuck|drained/.test(String(n)))).toEqual([]);
  });
});

describe('alarms, each notifying the topic', () => {
  const topic = ref(trial, trial.stack.migration.topic);
  const alarms = Object.values(resources(trial.template, 'AWS::CloudWatch::Alarm'));

  it('notify the topic, and nothing else, on ALARM', () => {
    // executions failed, each function's errors (9), the 3 drain alarms, the execution-ended dead letters
    expect(alarms).toHaveLength(1 + 9 + 3 + 1);
    for (const a of alarms) expect(a.Properties['AlarmActions'], String(a.Properties['AlarmName'])).toEqual([topic]);
  });

  it('on failed executions of the state machine', () => {
    trial.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'sidekiq-migrate-trial-executions-failed',
      Namespace: 'AWS/States',
      MetricName: 'ExecutionsFailed',
      Dimensions: [{ Name: 'StateMachineArn', Value: ref(trial, trial.stack.migration.stateMachine) }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('on errors of each function', () => {
    for (const [name, fn] of Object.entries(trial.stack.migration.functions.functions)) {
      trial.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `sidekiq-migrate-trial-${name}-errors`,
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: ref(trial, fn) }],
        Threshold: 1,
      });
    }
  });

  it('when orphans persist for N drain checks, when the Redis is stuck, and when it is drained', () => {
    const drainMetric = (metricName: string) => ({ Namespace: METRIC_NAMESPACE, MetricName: metricName, Dimensions: handlerDimensions(MetricModes.drainCheck), Period: 300 });
    trial.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'sidekiq-migrate-trial-source-orphans-persist',
      ...drainMetric(MetricNames.OrphanedJobs),
      Statistic: 'Minimum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'notBreaching',
    });
    trial.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'sidekiq-migrate-trial-source-drain-stuck',
      ...drainMetric(MetricNames.DrainState),
      Statistic: 'Minimum',
      Threshold: DrainStateValues.stuck,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 3,
    });
    // Drained is the go-ahead for retiring the Redis: only when no job on it, under any prefix, is
    // one nobody will run (a scoped check can be drained with orphans elsewhere).
    const stat = (id: string, metricName: string) => ({ Id: id, ReturnData: false, MetricStat: { Metric: { Namespace: METRIC_NAMESPACE, MetricName: metricName, Dimensions: handlerDimensions(MetricModes.drainCheck) }, Period: 300, Stat: 'Maximum' } });
    trial.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'sidekiq-migrate-trial-source-drained',
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'state + unrun', ReturnData: true }),
        stat('state', MetricNames.DrainState),
        stat('unrun', MetricNames.UnrunJobs),
      ]),
      Threshold: DrainStateValues.drained,
      ComparisonOperator: 'LessThanOrEqualToThreshold',
      EvaluationPeriods: 1,
    });
    // The period follows the schedule's rate; N is configurable.
    enterprise.template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: MetricNames.OrphanedJobs, Period: 600, EvaluationPeriods: 6, DatapointsToAlarm: 6 });
  });

  it("judge the schedule's checks only: an on-demand check (drain-check --deployed) publishes apart, and no alarm reads it", () => {
    // A scoped check looks at less: in the schedule's series, its lower counts pulled the stuck and
    // orphans alarms' Minimum down and could alone make a period's "drained".
    const modes = new Set<string>();
    const collect = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(collect);
      else if (value && typeof value === 'object') {
        const v = value as Record<string, unknown>;
        if (v['Name'] === 'mode' && typeof v['Value'] === 'string') modes.add(v['Value']);
        Object.values(v).forEach(collect);
      }
    };
    for (const a of Object.values(resources(trial.template, 'AWS::CloudWatch::Alarm'))) collect(a.Properties);
    expect(modes).toContain(MetricModes.drainCheck);
    expect(modes).not.toContain(MetricModes.drainCheckOnDemand);
    trial.template.hasResourceProperties('AWS::Scheduler::Schedule', { Name: 'sidekiq-migrate-trial-drain-check', Target: Match.objectLike({ Input: Match.stringLikeRegexp('"scheduled":true') }) });
  });

  it("the topic's policy lets this account's CloudWatch alarms publish over TLS, and nothing over plain HTTP", () => {
    const policies = Object.values(resources(trial.template, 'AWS::SNS::TopicPolicy'));
    expect(policies).toHaveLength(1);
    expect(policies[0]!.Properties['Topics']).toEqual([topic]);
    const statements = (policies[0]!.Properties['PolicyDocument'] as { Statement: PolicyStatement[] }).Statement;
    const publish = (secureTransport: boolean, sourceAccount: string) =>
      decide(statements, { service: 'cloudwatch.amazonaws.com', action: 'sns:Publish', resource: topic, secureTransport, sourceAccount, sourceArn: 'arn:aws:cloudwatch:eu-west-1:<AccountId>:alarm:x' });

    expect(publish(true, '<AccountId>')).toBe('Allow');
    expect(publish(false, '<AccountId>')).toBe('Deny');
    expect(publish(true, '999999999999')).toBe('implicit deny');
    const allow = statements.find((s) => s.Effect === 'Allow')!;
    expect(allow.Principal).toEqual({ Service: 'cloudwatch.amazonaws.com' });
    expect(allow.Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':alarm:*']] } },
    });
  });

  it('subscribes the configured addresses to the topic', () => {
    const transfer = synthesize(exampleConfig('elasticache-transfer'));
    transfer.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'sidekiq-oncall@example.com' });
  });
});

interface Widget {
  type: string;
  properties: { title?: string; markdown?: string; metrics?: unknown[][]; query?: string; alarms?: string[] };
}
/** A metric line of a widget: namespace, name, then dimension name/value pairs, then options. */
function metricLines(widgets: Widget[]): { title: string; namespace: string; name: string; dimensions: Record<string, string> }[] {
  return widgets.flatMap((w) =>
    (w.properties.metrics ?? []).map((line) => {
      const parts = line.filter((p) => typeof p === 'string') as string[];
      const dimensions: Record<string, string> = {};
      for (let i = 2; i + 1 < parts.length; i += 2) dimensions[parts[i]!] = parts[i + 1]!;
      return { title: w.properties.title ?? '', namespace: parts[0]!, name: parts[1]!, dimensions };
    }),
  );
}

describe('the dashboard', () => {
  const [dashboard] = Object.values(resources(trial.template, 'AWS::CloudWatch::Dashboard'));
  const body = JSON.parse(flatten(dashboard!.Properties['DashboardBody'])) as { widgets: Widget[] };
  const lines = metricLines(body.widgets);
  const handlerLines = lines.filter((l) => l.namespace === METRIC_NAMESPACE);

  it('graphs every metric the handlers emit, under the dimensions they publish it with', () => {
    for (const name of Object.values(MetricNames)) expect(handlerLines.map((l) => l.name), name).toContain(name);
    for (const line of handlerLines) {
      expect(Object.keys(line.dimensions).sort(), line.name).toEqual(['mode', 'service']);
      expect(line.dimensions['service']).toBe(SERVICE_NAME);
    }
  });

  it('shows run progress per mode: scanned, moved, skipped and quarantined for re-routes, claimed and written for transfers', () => {
    const byMode = (mode: string) => new Set(handlerLines.filter((l) => l.dimensions['mode'] === mode).map((l) => l.name));
    for (const name of Object.values(RerouteCounterMetrics)) expect(byMode(MetricModes.reroute)).toContain(name);
    for (const name of Object.values(TransferCounterMetrics)) expect(byMode(MetricModes.transfer)).toContain(name);
    for (const name of [MetricNames.QueueDepth, MetricNames.OrphanedJobs, MetricNames.RemainingJobs, MetricNames.InflightJobs, MetricNames.QuarantinedJobs, MetricNames.RetiredQueueArrivals, MetricNames.DrainState]) {
      expect(byMode(MetricModes.drainCheck)).toContain(name);
    }
    for (const mode of Object.values(MetricModes)) {
      expect(handlerLines.some((l) => l.name === MetricNames.RedisConnectionErrors && l.dimensions['mode'] === mode), mode).toBe(true);
    }
  });

  it('explains why there is no per-item metric, and lists items from the page task logs instead', () => {
    const text = body.widgets.find((w) => w.type === 'text')!.properties.markdown!;
    expect(text).toMatch(/per mode/);
    expect(text).toMatch(/no per-set or per-queue dimension/);
    const query = body.widgets.find((w) => w.type === 'log')!.properties.query!;
    for (const counter of [...Object.keys(RerouteCounterMetrics), ...Object.keys(TransferCounterMetrics)]) expect(query).toContain(`sum(counters.${counter})`);
    expect(query).toMatch(/by runId, itemKind, itemName/);
    for (const name of ['rerouteSetPage', 'rerouteQueueSlice', 'transferSet', 'transferQueue'] as const) {
      expect(query).toContain(`SOURCE '<Ref:${logicalId(trial.stack.migration.functions.logGroups[name], trial.stack)}>'`);
    }
  });

  it('shows executions by status, and errors, duration and throttles of every function', () => {
    const states = lines.filter((l) => l.namespace === 'AWS/States').map((l) => l.name);
    expect(states).toEqual(['ExecutionsStarted', 'ExecutionsSucceeded', 'ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted']);
    for (const metric of ['Errors', 'Duration', 'Throttles']) {
      const functions = lines.filter((l) => l.namespace === 'AWS/Lambda' && l.name === metric).map((l) => l.dimensions['FunctionName']);
      expect(functions.sort(), metric).toEqual(Object.values(trial.stack.migration.functions.functions).map((f) => `<Ref:${logicalId(f, trial.stack)}>`).sort());
    }
  });

  it('shows the state of every alarm', () => {
    const widget = body.widgets.find((w) => w.type === 'alarm')!;
    const alarmIds = Object.entries(resources(trial.template, 'AWS::CloudWatch::Alarm')).map(([id]) => `<${id}.Arn>`);
    expect(widget.properties.alarms!.sort()).toEqual(alarmIds.sort());
  });
});

interface PolicyStatement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Principal: unknown;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/**
 * IAM's decision for one request against a resource policy, for the few condition operators this
 * stack uses (Bool, StringEquals, ArnLike): an explicit Deny wins, then an Allow, else implicit deny.
 */
function decide(
  statements: readonly PolicyStatement[],
  request: { service: string; action: string; resource: unknown; secureTransport: boolean; sourceAccount: string; sourceArn: string },
): 'Allow' | 'Deny' | 'implicit deny' {
  const keys: Record<string, string> = {
    'aws:SecureTransport': String(request.secureTransport),
    'aws:SourceAccount': request.sourceAccount,
    'aws:SourceArn': request.sourceArn,
  };
  const like = (pattern: string, value: string) => new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.?+^$()[\]{}|\\]/g, '\\$&')).join('.*')}$`).test(value);
  const applies = (s: PolicyStatement) => {
    const principal = s.Principal === '*' || JSON.stringify(s.Principal) === JSON.stringify({ AWS: '*' }) || JSON.stringify(s.Principal) === JSON.stringify({ Service: request.service });
    const action = [s.Action].flat().some((a) => a === '*' || like(a, request.action) || a === 'sns:*');
    const resource = [s.Resource].flat().some((r) => JSON.stringify(r) === JSON.stringify(request.resource));
    const conditions = Object.entries(s.Condition ?? {}).every(([operator, entries]) =>
      Object.entries(entries).every(([key, expected]) => {
        const actual = keys[key];
        if (actual === undefined) return false;
        const wanted = flatten(expected).replace('<Ref:AWS::AccountId>', '<AccountId>').replace('<Ref:AWS::Partition>', 'aws').replace('<Ref:AWS::Region>', 'eu-west-1');
        if (operator === 'Bool' || operator === 'StringEquals') return actual === wanted;
        if (operator === 'ArnLike') return like(wanted, actual);
        throw new Error(`condition operator ${operator} is not modelled here`);
      }),
    );
    return principal && action && resource && conditions;
  };
  if (statements.some((s) => s.Effect === 'Deny' && applies(s))) return 'Deny';
  return statements.some((s) => s.Effect === 'Allow' && applies(s)) ? 'Allow' : 'implicit deny';
}
