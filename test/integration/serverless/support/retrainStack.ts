import { spawn } from 'node:child_process';
import { PutBucketNotificationConfigurationCommand } from '@aws-sdk/client-s3';
import { repoPath } from '../../../cli/cliHarness.ts';
import { type PrivateStack, provisionPrivateStack } from './privateStack.ts';
import { WorkerProcess } from './workerProcess.ts';

/**
 * What the retrain tests share: a private stack whose bucket starts no run by itself (its notifications are
 * removed, so only `pseudolabel retrain` starts runs) with one `pseudolabel worker` process, and the command.
 */

const BIN = repoPath('bin/pseudolabel.mjs');

export interface Retrained {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A private stack without bucket notifications, and a worker process carrying out its runs. */
export async function provisionRetrainStack(): Promise<PrivateStack> {
  const stack = await provisionPrivateStack();
  await stack.s3.send(
    new PutBucketNotificationConfigurationCommand({ Bucket: stack.bucket, NotificationConfiguration: {} }),
  );
  await WorkerProcess.start(stack.endpoint, stack.workerEnv());
  return stack;
}

/** `pseudolabel retrain <dataset> --store s3://<bucket>` against the stack: its exit code and output. */
export function retrainDataset(stack: PrivateStack, dataset: string): Promise<Retrained> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, 'retrain', dataset, '--store', `s3://${stack.bucket}`], {
      env: {
        ...process.env,
        ...stack.workerEnv(),
        AWS_ENDPOINT_URL: stack.endpoint,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        NO_COLOR: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', fail);
    child.on('close', (code) =>
      done({ code: code ?? 1, stdout: Buffer.concat(out).toString().trim(), stderr: Buffer.concat(err).toString() }),
    );
  });
}
