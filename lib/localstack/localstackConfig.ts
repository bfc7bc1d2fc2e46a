import path from 'node:path';
import type { QueueConfig } from '../adapters/awsResources.ts';
import { PACKAGE_ROOT } from '../packageLayout.ts';

export type { QueueConfig } from '../adapters/awsResources.ts';

import { DEFAULT_RESOURCE_PREFIX, LOCALSTACK_BUCKET_NAME } from '../resourceNames.ts';

/** The LocalStack release pinned by the project (the last one that starts without an account). */
export const LOCALSTACK_VERSION = '4.14.0';
/** Docker image used instead of the host runtime when a Docker engine answers. */
export const LOCALSTACK_IMAGE = `localstack/localstack:${LOCALSTACK_VERSION}`;

/** Everything LocalStack mode needs: where it listens, where its state lives and what it provisions. */
export interface LocalstackConfig {
  readonly endpoint: string;
  readonly region: string;
  readonly bucket: string;
  /** Queue names are `<queuePrefix>-events`, `-tasks`, `-reduce`, each with `-dlq`. */
  readonly queuePrefix: string;
  /** Prefix whose ObjectCreated events go to the events queue. */
  readonly incomingPrefix: string;
  readonly queues: { readonly events: QueueConfig; readonly tasks: QueueConfig; readonly reduce: QueueConfig };
  /** Receives before a message moves to its DLQ (redrive policy). */
  readonly maxReceiveCount: number;
  /** Holds the pid file, logs, LocalStack's FILESYSTEM_ROOT, the CDK output, and by default the venv. */
  readonly stateDir: string;
  /** The Python venv with localstack-core (default `<stateDir>/venv`). */
  readonly venvDir: string;
}

export interface LocalstackConfigOverrides {
  readonly endpoint?: string;
  readonly region?: string;
  readonly bucket?: string;
  /** Queue names are `<queuePrefix>-events`, `-tasks`, `-reduce`, each with `-dlq`. Default `pseudolabel`. */
  readonly queuePrefix?: string;
  /** Visibility timeout of the tasks and reduce queues, seconds. */
  readonly visibilityTimeout?: number;
  /** LocalStack's own state directory (default `<PSEUDOLABEL_STATE_DIR or <project>/.state>/localstack`). */
  readonly stateDir?: string;
  /**
   * The venv to run LocalStack from (default PSEUDOLABEL_LOCALSTACK_VENV, else `<stateDir>/venv`): lets a second
   * LocalStack (own endpoint and state dir) share the installed one.
   */
  readonly venvDir?: string;
}

/** The project root (the repository, or the installed package's folder); default home of `.state/`. */
export const PROJECT_ROOT = path.resolve(PACKAGE_ROOT);

/**
 * Resource names and settings for LocalStack mode, from overrides, then the environment, then defaults:
 * endpoint PSEUDOLABEL_ENDPOINT / AWS_ENDPOINT_URL / http://127.0.0.1:4566; region AWS_REGION /
 * AWS_DEFAULT_REGION / us-east-1; state dir PSEUDOLABEL_STATE_DIR / `<project>/.state`, with LocalStack's
 * files in its `localstack/` subdirectory. Tasks and reduce queues get a visibility timeout of
 * PSEUDOLABEL_VISIBILITY_TIMEOUT or 120 s (a Lambda deployment uses 900 s, which would make redelivery in
 * tests slow); events get 60 s. The venv is PSEUDOLABEL_LOCALSTACK_VENV or `<stateDir>/venv`.
 */
export function localstackConfig(
  overrides: LocalstackConfigOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
): LocalstackConfig {
  const visibility = overrides.visibilityTimeout ?? numberFrom(env.PSEUDOLABEL_VISIBILITY_TIMEOUT) ?? 120;
  if (!Number.isInteger(visibility) || visibility < 0 || visibility > 43_200) {
    throw new RangeError(`visibility timeout must be an integer between 0 and 43200 seconds: ${visibility}`);
  }
  const prefix = overrides.queuePrefix ?? DEFAULT_RESOURCE_PREFIX;
  const queue = (kind: string, visibilityTimeout: number): QueueConfig => ({
    name: `${prefix}-${kind}`,
    deadLetterName: `${prefix}-${kind}-dlq`,
    visibilityTimeout,
  });
  const stateDir =
    overrides.stateDir ?? path.join(env.PSEUDOLABEL_STATE_DIR ?? path.join(PROJECT_ROOT, '.state'), 'localstack');
  const resolvedStateDir = path.resolve(stateDir);
  const venvDir = overrides.venvDir ?? nonEmpty(env.PSEUDOLABEL_LOCALSTACK_VENV);
  return {
    endpoint: (overrides.endpoint ?? env.PSEUDOLABEL_ENDPOINT ?? env.AWS_ENDPOINT_URL ?? 'http://127.0.0.1:4566')
      .trim()
      .replace(/\/+$/, ''),
    region: overrides.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    bucket: overrides.bucket ?? LOCALSTACK_BUCKET_NAME,
    queuePrefix: prefix,
    incomingPrefix: 'incoming/',
    queues: { events: queue('events', 60), tasks: queue('tasks', visibility), reduce: queue('reduce', visibility) },
    maxReceiveCount: 3,
    stateDir: resolvedStateDir,
    venvDir: venvDir === undefined ? path.join(resolvedStateDir, 'venv') : path.resolve(venvDir),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function numberFrom(value: string | undefined): number | undefined {
  return value === undefined || value.trim() === '' ? undefined : Number(value);
}
