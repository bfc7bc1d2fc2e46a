/**
 * CloudWatch metrics as Embedded Metric Format log lines, the format @aws-lambda-powertools/metrics writes (that
 * package is not a dependency yet): Lambda's log stream turns each line into a metric in the `pseudolabel`
 * namespace, with the dimension `service`, which the stack's alarms watch (infra/constructs/alarms.ts).
 */
export const METRICS_NAMESPACE = 'pseudolabel';

/** Metrics the handlers emit, and alarms watch. */
export type MetricName =
  | 'InvalidOptions'
  | 'DeadLetteredTasks'
  | 'RunsPastDeadline'
  | 'TaskDuration'
  | 'TaskFailures'
  | 'RetrainFailed';

/**
 * Writes one EMF line: `value` of metric `name` (Count) for `service`, with `properties` as searchable fields
 * (not dimensions, so they add no metric cardinality).
 */
export function emitMetric(
  service: string,
  name: MetricName,
  value: number,
  properties: Record<string, unknown> = {},
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  options: { unit?: 'Count' | 'Milliseconds'; dimensions?: Record<string, string> } = {},
): void {
  const dimensions = { service, ...options.dimensions };
  write(
    JSON.stringify({
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [
          {
            Namespace: METRICS_NAMESPACE,
            Dimensions: [Object.keys(dimensions)],
            Metrics: [{ Name: name, Unit: options.unit ?? 'Count' }],
          },
        ],
      },
      ...properties,
      ...dimensions,
      [name]: value,
    }),
  );
}

/**
 * Per-task metrics (TaskDuration, TaskFailures by service and stage, with runId and dataset-bearing run ids as
 * properties), emitted in Lambda only (AWS_LAMBDA_FUNCTION_NAME set): in `pseudolabel worker` they would be a
 * line per task on stdout.
 */
export function emitTaskMetric(
  service: string,
  name: 'TaskDuration' | 'TaskFailures',
  value: number,
  task: { runId?: unknown; stage?: unknown; round?: unknown; shard?: unknown },
  env: NodeJS.ProcessEnv = process.env,
  write?: (line: string) => void,
): void {
  if (!env.AWS_LAMBDA_FUNCTION_NAME) return;
  const { runId, round, shard } = task;
  emitMetric(service, name, value, { runId, round, shard }, write, {
    unit: name === 'TaskDuration' ? 'Milliseconds' : 'Count',
    dimensions: { stage: String(task.stage ?? 'unknown') },
  });
}
