import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, type IMetric, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Alias } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../../lib/hosts/serverless/metrics.ts';

/** A metric the handlers emit (lib/hosts/serverless/metrics.ts), alarmed on when its sum over 5 minutes is > 0. */
export interface HandlerMetricAlarm {
  readonly id: string;
  readonly description: string;
  readonly metricName: string;
  readonly service: string;
}

export interface AlarmsProps {
  /** Dead-letter queues by name: any visible message there is a message the pipeline gave up on. */
  readonly deadLetterQueues: ReadonlyArray<readonly [string, IQueue]>;
  /** Work queues by name: a message waiting longer than `oldestMessageAge` means the queue is not drained. */
  readonly queues?: ReadonlyArray<readonly [string, IQueue]>;
  /** Age of the oldest message that alarms (default 1 hour). */
  readonly oldestMessageAge?: Duration;
  /** Functions whose invocation errors alarm, by name. */
  readonly functions: ReadonlyArray<readonly [string, IFunction]>;
  /** Handler metrics that alarm when > 0 (invalid options, dead-lettered tasks, runs past their deadline). */
  readonly handlerMetrics?: readonly HandlerMetricAlarm[];
  /** SNS topic notified when an alarm fires or clears. */
  readonly topicArn?: string;
  /** Without topicArn: create a topic for the alarms (not in LocalStack mode, where nothing would read it). */
  readonly createTopic?: boolean;
}

/** The namespace of the handlers' metrics: the one Powertools Metrics writes them to. */
export { METRICS_NAMESPACE } from '../../lib/hosts/serverless/metrics.ts';

/**
 * Alarms on dead-letter queue depth (> 0 messages), on the age of each queue's oldest message, on function
 * errors (> 0 in 5 minutes) and on the handlers' metrics; all notify one SNS topic, the given one or one this
 * construct creates.
 */
export class Alarms extends Construct {
  readonly alarms: readonly Alarm[];
  /** The topic the stack created for its alarms (absent when one was given, or in LocalStack mode). */
  readonly topic?: Topic;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const alarms: Alarm[] = [];
    const alarm = (alarmId: string, description: string, metric: IMetric, threshold = 0) =>
      alarms.push(
        new Alarm(this, alarmId, {
          alarmDescription: `pseudolabel: ${description}`,
          metric,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          threshold,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    for (const [name, queue] of props.deadLetterQueues) {
      alarm(
        `${capitalize(name)}DeadLetters`,
        `messages in the ${name} dead-letter queue (inspect, then redrive)`,
        queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      );
    }
    const oldest = props.oldestMessageAge ?? Duration.hours(1);
    for (const [name, queue] of props.queues ?? []) {
      alarm(
        `${capitalize(name)}OldestMessage`,
        `a message has waited in the ${name} queue for more than ${oldest.toMinutes()} minutes`,
        queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5), statistic: 'Maximum' }),
        oldest.toSeconds(),
      );
    }
    for (const [name, fn] of props.functions) {
      alarm(
        `${capitalize(name)}Errors`,
        `the ${name} function reported errors`,
        fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      );
    }
    for (const handlerMetric of props.handlerMetrics ?? []) {
      alarm(
        handlerMetric.id,
        handlerMetric.description,
        new Metric({
          namespace: METRICS_NAMESPACE,
          metricName: handlerMetric.metricName,
          dimensionsMap: { service: handlerMetric.service },
          period: Duration.minutes(5),
          statistic: 'Sum',
        }),
      );
    }
    let topic: ITopic | undefined;
    if (props.topicArn !== undefined) topic = Topic.fromTopicArn(this, 'Topic', props.topicArn);
    else if (props.createTopic) {
      this.topic = new Topic(this, 'AlarmTopic', {
        displayName: 'pseudolabel alarms',
        enforceSSL: true,
        masterKey: Alias.fromAliasName(this, 'SnsKey', 'alias/aws/sns'),
      });
      topic = this.topic;
    }
    if (topic !== undefined) {
      const action = new SnsAction(topic);
      for (const each of alarms) {
        each.addAlarmAction(action);
        each.addOkAction(action);
      }
    }
    this.alarms = alarms;
  }
}

function capitalize(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}
