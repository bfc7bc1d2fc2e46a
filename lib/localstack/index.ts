import { createS3Client, createSqsClient } from '../adapters/awsClients.ts';
import {
  bucketExists,
  findQueueUrl,
  type ProvisionedResources,
  provision,
  queueDepth,
} from '../adapters/awsResources.ts';
import { DEFAULT_STACK_NAME, deployWithCdk } from './cdkDeploy.ts';
import { type LocalstackConfig, type LocalstackConfigOverrides, localstackConfig } from './localstackConfig.ts';
import {
  fetchHealth,
  isRunning,
  type LocalstackHealth,
  readStarted,
  type StartedLocalstack,
  type StartOptions,
  startLocalstack,
  stopLocalstack,
} from './localstackProcess.ts';

export { type ProvisionedResources, provision } from '../adapters/awsResources.ts';
export { type CdkDeployResult, DEFAULT_STACK_NAME, deployWithCdk } from './cdkDeploy.ts';
export { type LocalstackConfig, localstackConfig } from './localstackConfig.ts';

/** How `up` creates the resources: `direct` (SDK calls, lib/adapters/awsResources.ts) or `cdk` (cdklocal deploy of the CDK app). */
export const PROVISIONERS = ['direct', 'cdk'] as const;
export type Provisioner = (typeof PROVISIONERS)[number];

export interface LocalstackUpOptions extends LocalstackConfigOverrides, StartOptions {
  /** Default `direct`. */
  readonly provision?: Provisioner;
  /** Stack name for `provision: 'cdk'` (default `Pseudolabel`). */
  readonly stackName?: string;
  /** Most time the cdklocal deploy may take (default 5 minutes). */
  readonly deployTimeoutMs?: number;
}

export interface LocalstackUpResult {
  readonly config: LocalstackConfig;
  /** True when this call started LocalStack; false when one was already healthy at the endpoint. */
  readonly started: boolean;
  /** How it runs: started by this project (now or earlier) on the host or in Docker, or not by it ('external'). */
  readonly mode: 'host' | 'docker' | 'external';
  /** Milliseconds from start to healthy (only when started). */
  readonly startupMs?: number;
  /** How the resources were provisioned, and for `cdk` the stack. */
  readonly provision: Provisioner;
  readonly stackName?: string;
  readonly resources: ProvisionedResources;
}

/**
 * `pseudolabel localstack up`: starts LocalStack unless one is already healthy at the endpoint (host venv, or
 * Docker when an engine answers), then provisions the bucket, queues, DLQs and notification: directly through the
 * SDK (default), or by deploying the CDK app's data plane with cdklocal (`provision: 'cdk'`). Idempotent.
 */
export async function localstackUp(options: LocalstackUpOptions = {}): Promise<LocalstackUpResult> {
  const provisioner = options.provision ?? 'direct';
  if (!PROVISIONERS.includes(provisioner)) {
    throw new RangeError(`provision must be one of ${PROVISIONERS.join(', ')}: ${provisioner}`);
  }
  const config = localstackConfig(options);
  const log = options.log ?? (() => {});
  let started: StartedLocalstack | undefined;
  let startupMs: number | undefined;
  let mode: LocalstackUpResult['mode'];
  const recorded = await readStarted(config);
  if ((await fetchHealth(config.endpoint)) === undefined) {
    if (recorded !== undefined && !isRunning(recorded)) await stopLocalstack(config); // stale pid file
    const begin = Date.now();
    started = await startLocalstack(config, options);
    startupMs = Date.now() - begin;
    mode = started.mode;
    log(`LocalStack healthy after ${(startupMs / 1000).toFixed(1)} s`);
  } else {
    mode = recorded !== undefined && isRunning(recorded) ? recorded.mode : 'external';
    log(`LocalStack already answers at ${config.endpoint}`);
  }
  if (provisioner === 'cdk') {
    const stackName = options.stackName ?? DEFAULT_STACK_NAME;
    const resources = await deployWithCdk(config, { stackName, log, timeoutMs: options.deployTimeoutMs });
    log(`stack ${stackName}: bucket ${resources.bucket}, queues ${Object.values(resources.queueUrls).join(', ')}`);
    return { config, started: started !== undefined, mode, startupMs, provision: provisioner, stackName, resources };
  }
  const resources = await provision(config);
  log(`provisioned bucket ${resources.bucket} and queues ${Object.values(resources.queueUrls).join(', ')}`);
  return { config, started: started !== undefined, mode, startupMs, provision: provisioner, resources };
}

export interface LocalstackDownResult {
  /** What was stopped, or undefined when this project had started nothing (nothing else is touched). */
  readonly stopped: StartedLocalstack | undefined;
}

/** `pseudolabel localstack down`: stops only the LocalStack this project started (per its pid file). */
export async function localstackDown(options: LocalstackConfigOverrides = {}): Promise<LocalstackDownResult> {
  return { stopped: await stopLocalstack(localstackConfig(options)) };
}

export interface QueueStatus {
  readonly name: string;
  readonly url?: string;
  readonly visible?: number;
  readonly inFlight?: number;
}

export interface LocalstackStatus {
  readonly config: LocalstackConfig;
  readonly health: LocalstackHealth | undefined;
  /** The LocalStack this project started, if its pid file says so. */
  readonly startedByUs: StartedLocalstack | undefined;
  readonly bucketExists?: boolean;
  readonly queues: readonly QueueStatus[];
}

/** `pseudolabel localstack status`: health, who started it, and the provisioned resources with queue depths. */
export async function localstackStatus(options: LocalstackConfigOverrides = {}): Promise<LocalstackStatus> {
  const config = localstackConfig(options);
  const health = await fetchHealth(config.endpoint);
  const recorded = await readStarted(config);
  const startedByUs = recorded !== undefined && isRunning(recorded) ? recorded : undefined;
  if (health === undefined) return { config, health, startedByUs, queues: [] };

  const s3 = createS3Client({ endpoint: config.endpoint, region: config.region });
  const sqs = createSqsClient({ endpoint: config.endpoint, region: config.region });
  const bucketFound = await bucketExists(s3, config.bucket).catch(() => false);
  const names = Object.values(config.queues).flatMap((queue) => [queue.name, queue.deadLetterName]);
  const queues = await Promise.all(
    names.map(async (name): Promise<QueueStatus> => {
      try {
        const url = await findQueueUrl(sqs, name);
        if (url === undefined) return { name };
        return { name, url, ...(await queueDepth(sqs, url)) };
      } catch {
        return { name };
      }
    }),
  );
  return { config, health, startedByUs, bucketExists: bucketFound, queues };
}

/** Human-readable lines for `localstack status`. */
export function formatLocalstackStatus(status: LocalstackStatus): string {
  const lines = [`endpoint  ${status.config.endpoint}`];
  if (status.health === undefined) {
    lines.push('health    not running (no answer from /_localstack/health)');
    return lines.join('\n');
  }
  const s3 = status.health.services?.s3 ?? '?';
  const sqs = status.health.services?.sqs ?? '?';
  lines.push(`health    LocalStack ${status.health.version ?? '?'}: s3 ${s3}, sqs ${sqs}`);
  const by = status.startedByUs;
  lines.push(
    `started   ${by === undefined ? 'not by pseudolabel' : by.mode === 'host' ? `host pid ${by.pid}` : `container ${by.container}`}`,
  );
  lines.push(`bucket    ${status.config.bucket} ${status.bucketExists ? 'present' : 'missing'}`);
  for (const queue of status.queues) {
    lines.push(
      queue.url === undefined
        ? `queue     ${queue.name} missing`
        : `queue     ${queue.name} visible=${queue.visible} in-flight=${queue.inFlight}`,
    );
  }
  return lines.join('\n');
}
