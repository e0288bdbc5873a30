/**
 * Every CloudWatch metric the Lambdas emit (EMF, through Powertools Metrics), in one place: the
 * CDK dashboard and alarms import these names, so renaming one here breaks their tests rather
 * than leaving a graph silently empty.
 *
 * Each metric carries the dimensions `service` (SERVICE_NAME, added by Powertools) and `mode`
 * (MetricModes): a CloudWatch metric is identified by its namespace, name and full dimension
 * set, so a dashboard must give both.
 */
export const METRIC_NAMESPACE = 'SidekiqMigrate';

/** The `service` dimension's value (and the Powertools service name in logs and traces). */
export const SERVICE_NAME = 'sidekiq-migrate';

export const MetricDimensions = {
  service: 'service',
  mode: 'mode',
} as const;

/** Values of the `mode` dimension: the run's mode, or the drain check. */
export const MetricModes = {
  reroute: 'reroute',
  transfer: 'transfer',
  /** The scheduled drain check: the series the drain alarms and the dashboard's drain graphs read. */
  drainCheck: 'drain-check',
  /**
   * Any other drain check (`drain-check --deployed`, an invocation by hand): it may look at less
   * than the schedule's (a subset of queues, a move's target), and in the schedule's series its
   * lower counts pulled the alarms' Minimum down (stuck, orphans) and could alone make a period's
   * "drained". Its own series, which no alarm reads.
   */
  drainCheckOnDemand: 'drain-check-on-demand',
  /** An invocation that failed before its mode was known (malformed input). */
  unknown: 'unknown',
} as const;

export const MetricNames = {
  // Re-route page handlers (and transfers, for JobsUnmapped / JobsUnparsable): this invocation's work.
  JobsScanned: 'JobsScanned',
  JobsMoved: 'JobsMoved',
  JobsAlreadyRouted: 'JobsAlreadyRouted',
  JobsUnmapped: 'JobsUnmapped',
  JobsUnparsable: 'JobsUnparsable',
  JobsQuarantined: 'JobsQuarantined',
  JobsVanished: 'JobsVanished',
  // Transfer page handlers (and the plan, for what it finished of interrupted transfers).
  JobsClaimed: 'JobsClaimed',
  JobsWritten: 'JobsWritten',
  JobsDuplicate: 'JobsDuplicate',
  // Every page handler.
  PagesProcessed: 'PagesProcessed',
  // Drain check.
  QueueDepth: 'QueueDepth',
  OrphanedJobs: 'OrphanedJobs',
  RemainingJobs: 'RemainingJobs',
  InflightJobs: 'InflightJobs',
  /** Jobs in quarantine lists: nobody runs them, and no transfer carries them. */
  QuarantinedJobs: 'QuarantinedJobs',
  RetiredQueueArrivals: 'RetiredQueueArrivals',
  /**
   * Jobs on the checked Redis that nobody will run as things stand, under any prefix (orphans,
   * quarantined, in flight, taken by workers that are gone, another prefix's with no Sidekiq):
   * retiring the Redis would lose them whatever the checked scope's DrainState says.
   */
  UnrunJobs: 'UnrunJobs',
  /** 0 drained, 1 draining, 2 stuck (DrainStateValues). */
  DrainState: 'DrainState',
  // Any handler: 1 when the invocation failed because a Redis connection could not be opened or broke.
  RedisConnectionErrors: 'RedisConnectionErrors',
} as const;

export type MetricName = (typeof MetricNames)[keyof typeof MetricNames];

/** The DrainState metric's values: alarm on `>= 2` (stuck). */
export const DrainStateValues = {
  drained: 0,
  draining: 1,
  stuck: 2,
} as const;
