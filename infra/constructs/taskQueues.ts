import { Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { QueueName } from '../config.ts';
import { DeadLetteredQueue } from './deadLetteredQueue.ts';

/** SQS's upper bound on a visibility timeout. */
const MAX_VISIBILITY_TIMEOUT_SECONDS = 12 * 60 * 60;

/**
 * The visibility timeout for a queue consumed by a Lambda function: 6x the function's timeout plus the batching
 * window, AWS's guidance so that a message is not redelivered while throttled invocations retry.
 */
export function consumerVisibilityTimeout(functionTimeout: Duration, maxBatchingWindow: Duration): Duration {
  const seconds = 6 * functionTimeout.toSeconds() + maxBatchingWindow.toSeconds();
  return Duration.seconds(Math.min(seconds, MAX_VISIBILITY_TIMEOUT_SECONDS));
}

export interface TaskQueuesProps {
  /** Visibility timeout of each queue (see consumerVisibilityTimeout). */
  readonly visibilityTimeouts: Readonly<Record<QueueName, Duration>>;
  /** Visibility timeout of every dead-letter queue (see consumerVisibilityTimeout). */
  readonly deadLetterVisibilityTimeout?: Duration;
  /** Physical names `<prefix>-events`, `<prefix>-tasks`, `<prefix>-reduce` (and `-dlq`); generated when absent. */
  readonly namePrefix?: string;
}

/**
 * The pipeline's three queues, each with a dead-letter queue: `events` (S3 ObjectCreated notifications for
 * incoming/), `tasks` (one message per shard and stage, the fan-out) and `reduce` (the fan-in steps).
 */
export class TaskQueues extends Construct {
  readonly events: DeadLetteredQueue;
  readonly tasks: DeadLetteredQueue;
  readonly reduce: DeadLetteredQueue;

  constructor(scope: Construct, id: string, props: TaskQueuesProps) {
    super(scope, id);
    const make = (name: QueueName, constructId: string) =>
      new DeadLetteredQueue(this, constructId, {
        queueName: props.namePrefix === undefined ? undefined : `${props.namePrefix}-${name}`,
        visibilityTimeout: props.visibilityTimeouts[name],
        deadLetterVisibilityTimeout: props.deadLetterVisibilityTimeout,
      });
    this.events = make('events', 'Events');
    this.tasks = make('tasks', 'Tasks');
    this.reduce = make('reduce', 'Reduce');
  }

  /** The three queues by name, in a fixed order. */
  all(): ReadonlyArray<readonly [QueueName, DeadLetteredQueue]> {
    return [
      ['events', this.events],
      ['tasks', this.tasks],
      ['reduce', this.reduce],
    ];
  }
}
