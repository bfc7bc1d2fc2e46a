import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Bucket, CfnBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { RUNS_PREFIX } from './dataBucket.ts';
import type { FunctionFactory } from './functionFactory.ts';

/** How often the deadline watch looks for runs past their deadline. */
export const DEADLINE_WATCH_RATE = Duration.minutes(15);

export interface DeadlineWatchProps {
  readonly factory: FunctionFactory;
  readonly bucket: Bucket;
}

/**
 * A function on a 15-minute schedule (functions/deadlineWatch.ts) that counts the runs still running past their
 * deadline and emits the RunsPastDeadline metric the alarm watches. Least privilege: it lists the bucket and reads
 * runs/, nothing else.
 */
export class DeadlineWatch extends Construct {
  readonly function: NodejsFunction;

  constructor(scope: Construct, id: string, props: DeadlineWatchProps) {
    super(scope, id);
    const fn = props.factory.create(this, 'Function', {
      entry: 'functions/deadlineWatch.ts',
      description: 'pseudolabel: counts the runs past their deadline (RunsPastDeadline metric)',
      settings: { memoryMb: 256, timeoutSeconds: 300 },
    });
    fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:ListBucket'], resources: [props.bucket.bucketArn] }));
    fn.addToRolePolicy(
      new PolicyStatement({ actions: ['s3:GetObject'], resources: [props.bucket.arnForObjects(`${RUNS_PREFIX}*`)] }),
    );
    new Rule(this, 'Schedule', {
      description: 'pseudolabel: looks for runs past their deadline',
      schedule: Schedule.rate(DEADLINE_WATCH_RATE),
      targets: [new LambdaFunction(fn, { retryAttempts: 0 })],
    });
    const bucketRef = `<${Stack.of(props.bucket).getLogicalId(props.bucket.node.defaultChild as CfnBucket)}.Arn>`;
    Validations.of(fn.role!).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${bucketRef}/${RUNS_PREFIX}*]`,
      reason: 'Reads the run.json of every run under runs/: run ids are created at run time.',
    });
    this.function = fn;
  }
}
