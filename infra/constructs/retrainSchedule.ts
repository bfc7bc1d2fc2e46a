import { Duration } from 'aws-cdk-lib';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

export interface RetrainScheduleProps {
  /** EventBridge schedule expression, `cron(...)` or `rate(...)`. */
  readonly schedule: string;
  /** Datasets (folders under incoming/) to retrain; one rule each. */
  readonly datasets: readonly string[];
  /** The scheduled function; it receives `{ "dataset": "<name>" }`. */
  readonly target: IFunction;
}

/**
 * Starts retraining runs on a schedule: one EventBridge rule per dataset (a rule holds at most 5 targets, and a
 * rule per dataset can be disabled on its own), invoking the scheduled function with `{ dataset }`.
 */
export class RetrainSchedule extends Construct {
  readonly rules: readonly Rule[];

  constructor(scope: Construct, id: string, props: RetrainScheduleProps) {
    super(scope, id);
    this.rules = props.datasets.map(
      (dataset) =>
        new Rule(this, `Retrain-${dataset}`, {
          description: `pseudolabel: scheduled retraining run of dataset ${dataset}`,
          schedule: Schedule.expression(props.schedule),
          targets: [
            new LambdaFunction(props.target, {
              event: RuleTargetInput.fromObject({ dataset }),
              retryAttempts: 2,
              maxEventAge: Duration.hours(1),
            }),
          ],
        }),
    );
  }
}
