import { PutBucketNotificationConfigurationCommand } from '@aws-sdk/client-s3';
import { type SpawnResult, spawnCli } from '../../../pipeline/support/pipelineHarness.ts';
import { type PrivateStack, provisionPrivateStack } from './privateStack.ts';
import { WorkerProcess } from './workerProcess.ts';

/**
 * What the retrain tests share: a private stack whose bucket starts no run by itself (its notifications are
 * removed, so only `pseudolabel retrain` starts runs) with one `pseudolabel worker` process, and the command.
 */

/** A private stack without bucket notifications, and a worker process carrying out its runs. */
export async function provisionRetrainStack(): Promise<PrivateStack> {
  const stack = await provisionPrivateStack();
  await stack.s3.send(
    new PutBucketNotificationConfigurationCommand({ Bucket: stack.bucket, NotificationConfiguration: {} }),
  );
  await WorkerProcess.start(stack.endpoint, stack.workerEnv());
  return stack;
}

/** The environment of a `pseudolabel` command against the stack (LocalStack's endpoint and test credentials). */
export function cliEnv(stack: PrivateStack): NodeJS.ProcessEnv {
  return {
    ...stack.workerEnv(),
    AWS_ENDPOINT_URL: stack.endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** `pseudolabel retrain <dataset> --store s3://<bucket>` against the stack: its exit code and output (trimmed). */
export async function retrainDataset(stack: PrivateStack, dataset: string): Promise<SpawnResult> {
  const retrained = await spawnCli(
    ['retrain', dataset, '--store', `s3://${stack.bucket}`],
    process.cwd(),
    cliEnv(stack),
  );
  return { ...retrained, stdout: retrained.stdout.trim() };
}
