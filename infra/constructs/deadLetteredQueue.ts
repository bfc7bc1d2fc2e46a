import { Duration } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Receives after which a message goes to the dead-letter queue: a poison message is not retried forever. */
export const MAX_RECEIVE_COUNT = 3;

export interface DeadLetteredQueueProps {
  /** Physical name of the queue (the DLQ gets `<name>-dlq`); generated when absent. */
  readonly queueName?: string;
  /** At least 6x the consuming function's timeout plus its batching window (AWS's guidance for Lambda). */
  readonly visibilityTimeout: Duration;
  /** The same for the dead-letter queue, whose consumer marks runs failed (default SQS's 30 s). */
  readonly deadLetterVisibilityTimeout?: Duration;
}

/** An SQS queue with SQS-managed encryption, TLS-only access and a dead-letter queue after 3 receives. */
export class DeadLetteredQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: DeadLetteredQueueProps) {
    super(scope, id);
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      queueName: props.queueName === undefined ? undefined : `${props.queueName}-dlq`,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: props.deadLetterVisibilityTimeout,
      // The maximum, so there is time to inspect and redrive poison messages.
      retentionPeriod: Duration.days(14),
    });
    this.queue = new Queue(this, 'Queue', {
      queueName: props.queueName,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: props.visibilityTimeout,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
  }
}
