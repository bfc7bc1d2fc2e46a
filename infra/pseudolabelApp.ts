import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readConfig } from './config.ts';
import { PseudolabelStack } from './stacks/pseudolabelStack.ts';

/**
 * Adds the pseudolabel stack to an app, configured from the app's context, and registers the cdk-nag
 * AwsSolutions checks: synthesis fails on any finding that is not acknowledged with a reason.
 */
export function addPseudolabel(app: App): PseudolabelStack {
  const config = readConfig(app.node);
  const stack = new PseudolabelStack(app, config.stackName, {
    config,
    description: config.localstack
      ? 'pseudolabel data plane for LocalStack: bucket, queues, dead-letter queues, S3 notification'
      : 'pseudolabel: semi-supervised labelling on S3, SQS and Lambda',
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
