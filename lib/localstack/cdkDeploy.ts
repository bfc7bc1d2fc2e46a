import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createS3Client, createSqsClient, type S3Client, type SQSClient } from '../adapters/awsClients.ts';
import {
  applyBucketSettings,
  bucketTags,
  type ProvisionClients,
  type ProvisionedResources,
  queueTags,
} from '../adapters/awsResources.ts';
import { LOCALSTACK_STACK_TAG } from '../resourceNames.ts';
import { bucketSettingsFromTemplate, type CfnTemplate, physicalBucketNames } from './bucketSettings.ts';
import { CdkDeployError, CdkToolMissingError, ForeignResourcesError } from './errors.ts';
import { type LocalstackConfig, PROJECT_ROOT } from './localstackConfig.ts';
import { tail } from './localstackProcess.ts';

/** The stack name `--provision cdk` deploys by default (cdk.json's `stackName`). */
export const DEFAULT_STACK_NAME = 'Pseudolabel';

export interface CdkDeployOptions {
  /** CloudFormation stack name (default `Pseudolabel`). */
  readonly stackName?: string;
  /** Most time `cdklocal deploy` may take (default 5 minutes). */
  readonly timeoutMs?: number;
  readonly log?: (line: string) => void;
  readonly clients?: ProvisionClients;
}

export interface CdkDeployResult extends ProvisionedResources {
  readonly stackName: string;
  /** The stack's outputs as deployed (BucketName, AccessLogsBucketName, <Queue>QueueUrl, ...). */
  readonly outputs: Readonly<Record<string, string>>;
  /** Where cdklocal's output went (`<stateDir>/logs/cdk-<stack>.log`). */
  readonly logFile: string;
}

/** Where a stack's cloud assembly, outputs file and cdklocal log live (per stack: deploys of two stacks can overlap). */
export function cdkPaths(config: LocalstackConfig, stackName: string) {
  const dir = path.join(config.stateDir, 'cdk', stackName);
  return {
    outdir: path.join(dir, 'cdk.out'),
    outputsFile: path.join(dir, 'outputs.json'),
    template: path.join(dir, 'cdk.out', `${stackName}.template.json`),
    log: path.join(config.stateDir, 'logs', `cdk-${stackName}.log`),
  };
}

/** The `cdklocal` entry point from the aws-cdk-local devDependency; CdkToolMissingError when it is not installed. */
export function resolveCdklocal(): string {
  const require = createRequire(import.meta.url);
  for (const dependency of ['aws-cdk/package.json', 'aws-cdk-lib/package.json']) {
    try {
      require.resolve(dependency);
    } catch {
      throw new CdkToolMissingError(path.dirname(dependency));
    }
  }
  try {
    return require.resolve('aws-cdk-local/bin/cdklocal');
  } catch {
    throw new CdkToolMissingError('aws-cdk-local');
  }
}

/**
 * `cdklocal deploy` of the CDK app in LocalStack mode, named as `config` says: `-c localstack=true` (the data plane
 * only, legacy synthesizer, so no bootstrap), `-c stackName`, `-c bucketName`, `-c resourcePrefix`.
 */
export function cdkDeployArguments(config: LocalstackConfig, stackName: string): string[] {
  const paths = cdkPaths(config, stackName);
  return [
    'deploy',
    stackName,
    '--require-approval',
    'never',
    '--no-notices',
    '--progress',
    'events',
    '--output',
    paths.outdir,
    '--outputs-file',
    paths.outputsFile,
    '-c',
    'localstack=true',
    '-c',
    `stackName=${stackName}`,
    '-c',
    `bucketName=${config.bucket}`,
    '-c',
    `resourcePrefix=${config.queuePrefix}`,
  ];
}

/**
 * Environment of cdklocal: every AWS call to the LocalStack endpoint (S3 included, path style; never the
 * `*.localhost.localstack.cloud` names cdklocal defaults to, which need DNS), dummy credentials instead of any
 * profile or session from the caller, the configured region, and the CDK CLI offline (no telemetry, no version
 * check, no colours in the log).
 */
export function cdklocalEnvironment(
  config: LocalstackConfig,
  base: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(base).filter(([key]) => !key.startsWith('AWS_')));
  return {
    ...env,
    AWS_ENDPOINT_URL: config.endpoint,
    AWS_ENDPOINT_URL_S3: config.endpoint,
    AWS_S3_FORCE_PATH_STYLE: '1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: config.region,
    AWS_DEFAULT_REGION: config.region,
    // cdklocal drops AWS_* variables other than the endpoints unless they are allow-listed.
    AWS_ENVAR_ALLOWLIST: 'AWS_REGION,AWS_DEFAULT_REGION',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    CDK_DISABLE_VERSION_CHECK: 'true',
    NO_COLOR: '1',
    FORCE_COLOR: '0',
  };
}

/**
 * `pseudolabel localstack up --provision cdk`: deploys the CDK app's data plane (`-c localstack=true`) to LocalStack
 * with cdklocal, then sets the bucket settings LocalStack's CloudFormation drops (see bucketSettings.ts), and returns
 * the deployed names. Idempotent: a second run finds no changes and sets the bucket settings again. Refuses (with
 * ForeignResourcesError) when same-named resources exist that this stack did not create.
 */
export async function deployWithCdk(
  config: LocalstackConfig,
  options: CdkDeployOptions = {},
): Promise<CdkDeployResult> {
  const stackName = options.stackName ?? DEFAULT_STACK_NAME;
  const log = options.log ?? (() => {});
  const s3 = options.clients?.s3 ?? createS3Client({ endpoint: config.endpoint, region: config.region });
  const sqs = options.clients?.sqs ?? createSqsClient({ endpoint: config.endpoint, region: config.region });
  const cdklocal = resolveCdklocal();
  await assertNoForeignResources(config, stackName, s3, sqs);

  const paths = cdkPaths(config, stackName);
  await mkdir(path.dirname(paths.log), { recursive: true });
  await mkdir(path.dirname(paths.outputsFile), { recursive: true });
  await rm(paths.outputsFile, { force: true });
  log(`cdklocal deploy ${stackName} (-c localstack=true) to ${config.endpoint} (log: ${paths.log})`);
  const begin = Date.now();
  await runLogged(
    process.execPath,
    [cdklocal, ...cdkDeployArguments(config, stackName)],
    cdklocalEnvironment(config),
    paths.log,
    options.timeoutMs ?? 300_000,
    stackName,
  );
  log(`stack ${stackName} deployed in ${((Date.now() - begin) / 1000).toFixed(1)} s`);

  const outputs = await readOutputs(paths.outputsFile, stackName, paths.log);
  const template = JSON.parse(await readFile(paths.template, 'utf8')) as CfnTemplate;
  const settings = bucketSettingsFromTemplate(template, physicalBucketNames(template, outputs));
  await applyBucketSettings(s3, settings);
  log(
    `set lifecycle, logging, encryption, public access block and ownership of ${settings.map((s) => s.bucket).join(', ')}`,
  );

  const output = (key: string) => {
    const value = outputs[key];
    if (value === undefined) {
      throw new CdkDeployError(stackName, `the stack has no output ${key}`, paths.log, JSON.stringify(outputs));
    }
    return value;
  };
  return {
    stackName,
    outputs,
    logFile: paths.log,
    bucket: output('BucketName'),
    queueUrls: { events: output('EventsQueueUrl'), tasks: output('TasksQueueUrl'), reduce: output('ReduceQueueUrl') },
    deadLetterQueueUrls: {
      events: output('EventsDeadLetterQueueUrl'),
      tasks: output('TasksDeadLetterQueueUrl'),
      reduce: output('ReduceDeadLetterQueueUrl'),
    },
  };
}

/**
 * `cdklocal destroy` of a stack `deployWithCdk` deployed (same names). The buckets are retained (the stack's default
 * removal policy, unless deployed with destroyOnRemoval) and stay; the queues and alarms go.
 */
export async function destroyCdkStack(
  config: LocalstackConfig,
  options: Pick<CdkDeployOptions, 'stackName' | 'timeoutMs'> = {},
): Promise<void> {
  const stackName = options.stackName ?? DEFAULT_STACK_NAME;
  const paths = cdkPaths(config, stackName);
  await mkdir(path.dirname(paths.log), { recursive: true });
  const [, , ...rest] = cdkDeployArguments(config, stackName);
  const context = rest.slice(rest.indexOf('-c'));
  await runLogged(
    process.execPath,
    [resolveCdklocal(), 'destroy', stackName, '--force', '--no-notices', '--output', paths.outdir, ...context],
    cdklocalEnvironment(config),
    paths.log.replace(/\.log$/, '-destroy.log'),
    options.timeoutMs ?? 300_000,
    stackName,
    'destroy',
  );
}

/**
 * Throws ForeignResourcesError if the bucket or a queue of `config` exists without the stack's tag. LocalStack's
 * CloudFormation fails on an existing queue with other attributes (`QueueAlreadyExists ... a different value for
 * attribute RedrivePolicy`) and silently adopts an existing bucket (which a rollback or destroy could then delete).
 */
export async function assertNoForeignResources(
  config: LocalstackConfig,
  stackName: string,
  s3: S3Client,
  sqs: SQSClient,
): Promise<void> {
  const foreign: string[] = [];
  const bucketTag = await bucketTags(s3, config.bucket);
  if (bucketTag !== null && bucketTag[LOCALSTACK_STACK_TAG] !== stackName) foreign.push(`bucket ${config.bucket}`);
  const names = Object.values(config.queues).flatMap((q) => [q.name, q.deadLetterName]);
  for (const name of names) {
    const tags = await queueTags(sqs, name);
    if (tags !== null && tags[LOCALSTACK_STACK_TAG] !== stackName) foreign.push(`queue ${name}`);
  }
  if (foreign.length > 0) throw new ForeignResourcesError(stackName, foreign);
}

async function readOutputs(file: string, stackName: string, logFile: string): Promise<Record<string, string>> {
  try {
    const all = JSON.parse(await readFile(file, 'utf8')) as Record<string, Record<string, string>>;
    const outputs = all[stackName];
    if (outputs !== undefined) return outputs;
  } catch {
    // reported below
  }
  throw new CdkDeployError(stackName, `cdklocal wrote no outputs for the stack to ${file}`, logFile, tail(logFile, 20));
}

/** Runs cdklocal with its output in `logFile`; CdkDeployError (with CloudFormation's failure lines) on exit != 0. */
async function runLogged(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  logFile: string,
  timeoutMs: number,
  stackName: string,
  action: 'deploy' | 'destroy' = 'deploy',
): Promise<void> {
  const fd = openSync(logFile, 'w');
  let timedOut = false;
  let code: number | null;
  try {
    const child = spawn(command, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', fd, fd] });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
    }, timeoutMs);
    code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (exitCode) => resolve(exitCode));
    }).finally(() => clearTimeout(timer));
  } finally {
    closeSync(fd);
  }
  if (code === 0 && !timedOut) return;
  const reason = timedOut ? `no result after ${timeoutMs} ms` : `exit code ${code}`;
  throw new CdkDeployError(stackName, reason, logFile, failureSummary(logFile), action);
}

/**
 * The lines of a cdklocal log that say what failed: CloudFormation's CREATE_FAILED/UPDATE_FAILED events with their
 * reasons, and CDK's error lines; else the log's tail.
 */
export function failureSummary(logFile: string): string {
  const text = existsSync(logFile) ? tail(logFile, 400) : '';
  const wanted = /_FAILED|failed|Error|error:|❌/;
  const noise = /^\s*(at |new |Source Location|make \(|addPseudolabel|<anonymous>|async file:)/;
  const lines = text.split('\n').filter((line) => wanted.test(line) && !noise.test(line));
  const unique = [...new Set(lines.map((line) => line.trim()))];
  return (unique.length > 0 ? unique.slice(0, 20) : text.split('\n').slice(-20)).join('\n');
}
