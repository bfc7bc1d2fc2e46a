/**
 * CloudWatch metrics as Embedded Metric Format log lines, the format @aws-lambda-powertools/metrics writes (that
 * package is not a dependency yet): Lambda's log stream turns each line into a metric in the `pseudolabel`
 * namespace, with the dimension `service`, which the stack's alarms watch (infra/constructs/alarms.ts).
 */
export const METRICS_NAMESPACE = 'pseudolabel';

/** Metrics the handlers emit, and alarms watch. */
export type MetricName = 'InvalidOptions' | 'DeadLetteredTasks' | 'RunsPastDeadline';

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
): void {
  write(
    JSON.stringify({
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [
          { Namespace: METRICS_NAMESPACE, Dimensions: [['service']], Metrics: [{ Name: name, Unit: 'Count' }] },
        ],
      },
      service,
      [name]: value,
      ...properties,
    }),
  );
}
