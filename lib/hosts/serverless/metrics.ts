import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { RunRecord } from '../../pipeline/run/runRecord.ts';

/**
 * CloudWatch metrics of the handlers, written by Powertools Metrics as Embedded Metric Format lines on stdout:
 * Lambda's log stream turns each line into a metric in the `pseudolabel` namespace with the dimension `service`
 * (the stack's alarms watch some of them: infra/constructs/alarms.ts).
 *
 * Cardinality: a dimension value makes a metric of its own (billed, kept 15 months, not summed across values by
 * CloudWatch). So only small closed sets are dimensions: service, stage, run status, dataset (a handful of upload
 * prefixes). Run ids, rounds and shards are metadata: fields of the EMF line, searchable in Logs Insights, adding no
 * metric. Outside Lambda (`pseudolabel worker`) the worker turns metrics off (POWERTOOLS_METRICS_DISABLED=true
 * unless set): its stdout is a terminal nothing ingests.
 */
export const METRICS_NAMESPACE = 'pseudolabel';

/** The service of the run metrics (RunsEnded, RunDuration), whichever handler saw the run end. */
export const RUNS_SERVICE = 'pseudolabel-runs';

/** Metrics the handlers emit, and alarms watch. */
export type MetricName =
  | 'InvalidOptions'
  | 'DeadLetteredTasks'
  | 'RunsPastDeadline'
  | 'TaskDuration'
  | 'TaskFailures'
  | 'RetrainFailed'
  | 'RunsEnded'
  | 'RunDuration';

/** A Powertools Metrics for one handler: namespace `pseudolabel`, default dimension `service`. */
export function serviceMetrics(service: string): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName: service });
}

/**
 * Powertools' logMetrics for a plain handler function: the metrics stored during the call are published when it
 * returns or throws (nothing is written, nor warned about, when it stored none).
 */
export function withMetrics<A extends unknown[], R>(
  metrics: Metrics,
  handler: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  return async (...args) => {
    try {
      return await handler(...args);
    } finally {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
}

/** Adds the defined ones of `fields` as metadata (strings). */
function addMetadata(metrics: Metrics, fields: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined && value !== null) metrics.addMetadata(key, String(value));
  }
}

/**
 * Counts one event (Count 1) of `name` by service alone, the dimension the alarms watch, with `metadata` (the
 * dataset, run id, error) on its line; written at once, as each event has its own metadata.
 */
export function emitEvent(metrics: Metrics, name: MetricName, metadata: Record<string, unknown>): void {
  const single = metrics.singleMetric();
  addMetadata(single, metadata);
  single.addMetric(name, MetricUnit.Count, 1);
}

/**
 * One task's TaskDuration (ms) or TaskFailures (1), by service and stage, with runId, round and shard as
 * metadata; written at once (a batch mixes stages and runs, and a line holds one set of dimensions).
 */
export function emitTaskMetric(
  metrics: Metrics,
  name: 'TaskDuration' | 'TaskFailures',
  value: number,
  task: { runId?: unknown; stage?: unknown; round?: unknown; shard?: unknown },
): void {
  const single = metrics.singleMetric();
  single.addDimension('stage', String(task.stage ?? 'unknown'));
  addMetadata(single, { runId: task.runId, round: task.round, shard: task.shard });
  single.addMetric(name, name === 'TaskDuration' ? MetricUnit.Milliseconds : MetricUnit.Count, value);
}

/**
 * A run reached its terminal status: RunsEnded (1) and RunDuration (ms from start to end) by status and dataset
 * (dimensions service=pseudolabel-runs, status, dataset), with the run id, the stage it ended at and its error as
 * metadata; one line, written at once. It is the StageContext's `runEnded` hook of the Lambda handlers.
 */
export function emitRunEnded(record: RunRecord): void {
  const metrics = serviceMetrics(RUNS_SERVICE);
  metrics.addDimension('status', record.status);
  metrics.addDimension('dataset', record.dataset);
  addMetadata(metrics, { runId: record.runId, stage: record.stage, error: record.error });
  const ms = Date.parse(record.finishedAt ?? '') - Date.parse(record.createdAt);
  if (Number.isFinite(ms) && ms >= 0) metrics.addMetric('RunDuration', MetricUnit.Milliseconds, ms);
  metrics.addMetric('RunsEnded', MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
}
