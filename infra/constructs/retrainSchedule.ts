import { Duration } from 'aws-cdk-lib';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

export interface RetrainScheduleProps {
  /** EventBridge schedule expression, `cron(...)` or `rate(...)`. */
  readonly schedule: string;
  /** Datasets retrained on every schedule whatever their pseudolabel.json says (the `datasets` context). */
  readonly datasets: readonly string[];
  /** The scheduled function; it receives `{ "datasets": [...] }`. */
  readonly target: IFunction;
}

/**
 * The stack's one retraining schedule: a single EventBridge rule invoking the scheduled function, which retrains
 * every dataset whose incoming/<dataset>/pseudolabel.json asks for it (`"retrain": "daily" | "weekly"`) and the
 * datasets listed here, each only when something changed since its latest version. A new dataset needs no
 * redeploy: its pseudolabel.json is enough.
 */
export class RetrainSchedule extends Construct {
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: RetrainScheduleProps) {
    super(scope, id);
    this.rule = new Rule(this, 'Rule', {
      description: 'pseudolabel: retrains the datasets that ask for it (pseudolabel.json "retrain"), when changed',
      schedule: Schedule.expression(props.schedule),
      targets: [
        new LambdaFunction(props.target, {
          event: RuleTargetInput.fromObject({ datasets: props.datasets }),
          retryAttempts: 2,
          maxEventAge: Duration.hours(1),
        }),
      ],
    });
  }
}
