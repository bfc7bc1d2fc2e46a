import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface AlarmsProps {
  /** Dead-letter queues by name: any visible message there is a message the pipeline gave up on. */
  readonly deadLetterQueues: ReadonlyArray<readonly [string, IQueue]>;
  /** Functions whose invocation errors alarm, by name. */
  readonly functions: ReadonlyArray<readonly [string, IFunction]>;
  /** SNS topic notified when an alarm fires or clears. */
  readonly topicArn?: string;
}

/** Alarms on dead-letter queue depth (> 0 messages) and on function errors (> 0 in 5 minutes). */
export class Alarms extends Construct {
  readonly alarms: readonly Alarm[];

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const alarms: Alarm[] = [];
    for (const [name, queue] of props.deadLetterQueues) {
      alarms.push(
        new Alarm(this, `${capitalize(name)}DeadLetters`, {
          alarmDescription: `pseudolabel: messages in the ${name} dead-letter queue (inspect, then redrive)`,
          metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          threshold: 0,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    for (const [name, fn] of props.functions) {
      alarms.push(
        new Alarm(this, `${capitalize(name)}Errors`, {
          alarmDescription: `pseudolabel: the ${name} function reported errors`,
          metric: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          threshold: 0,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    if (props.topicArn !== undefined) {
      const action = new SnsAction(Topic.fromTopicArn(this, 'Topic', props.topicArn));
      for (const alarm of alarms) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }
    this.alarms = alarms;
  }
}

function capitalize(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}
