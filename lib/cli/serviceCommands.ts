import {
  formatLocalstackStatus,
  localstackConfig,
  localstackDown,
  localstackStatus,
  localstackUp,
} from '../localstack/index.ts';

export interface LocalstackFlags {
  readonly endpoint?: string;
  /** `up` only: `direct` (default) or `cdk`. */
  readonly provision?: string;
  /** `up --provision cdk` only. */
  readonly stackName?: string;
}

/**
 * `pseudolabel localstack up|down|status`. Like `worker`, `up` and `status` take the resource names from
 * PSEUDOLABEL_BUCKET and PSEUDOLABEL_QUEUE_PREFIX when set (DESIGN.md section 3: the names are overridable).
 */
export async function localstackCommand(
  action: string,
  flags: LocalstackFlags,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const endpoint = flags.endpoint ? { endpoint: flags.endpoint } : {};
  const bucket = env.PSEUDOLABEL_BUCKET?.trim();
  const queuePrefix = env.PSEUDOLABEL_QUEUE_PREFIX?.trim();
  const overrides = { ...endpoint, ...(bucket ? { bucket } : {}), ...(queuePrefix ? { queuePrefix } : {}) };
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const provision = flags.provision ?? 'direct';
  if (provision !== 'direct' && provision !== 'cdk') {
    process.stderr.write(`pseudolabel: --provision must be direct or cdk, got "${provision}"\n`);
    return 1;
  }
  if (flags.stackName !== undefined && (action !== 'up' || provision !== 'cdk')) {
    process.stderr.write('pseudolabel: --stack-name applies to `localstack up --provision cdk` only\n');
    return 1;
  }
  if (action === 'up') {
    const result = await localstackUp({ ...overrides, provision, stackName: flags.stackName, log });
    const how = result.provision === 'cdk' ? `deployed as stack ${result.stackName} with cdklocal` : 'provisioned';
    process.stderr.write(
      `localstack ${result.started ? `started (${result.mode}, ${result.startupMs} ms)` : `already running (${result.mode})`} at ${result.config.endpoint}; resources ${how}\n`,
    );
    return 0;
  }
  if (action === 'down') {
    const result = await localstackDown(endpoint);
    process.stderr.write(`${JSON.stringify(result)}\n`);
    return 0;
  }
  if (action === 'status') {
    const status = await localstackStatus(overrides);
    process.stdout.write(formatLocalstackStatus(status));
    return 0;
  }
  process.stderr.write(`pseudolabel: unknown localstack action "${action}" (up, down or status)\n`);
  return 1;
}

/**
 * `pseudolabel worker`: the Lambda handlers in this process against the LocalStack (or AWS) queues, until
 * Ctrl-C (SIGINT) or SIGTERM, which finish the batches in hand before exiting. The resource names can be
 * overridden (DESIGN.md section 3) with PSEUDOLABEL_BUCKET (the handlers' own variable) and
 * PSEUDOLABEL_QUEUE_PREFIX (queues `<prefix>-events`, `-tasks`, `-reduce`), so a worker can serve a private copy of
 * the resources (the integration tests do). It also consumes the tasks and reduce dead-letter queues, as the
 * dead-letters Lambda does. PSEUDOLABEL_FAULT_KILL_STAGE=<stage> injects a fault for tests: the worker kills
 * itself on every receive of a task of that stage.
 */
export async function workerCommand(
  flags: { endpoint?: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const bucket = env.PSEUDOLABEL_BUCKET?.trim();
  const queuePrefix = env.PSEUDOLABEL_QUEUE_PREFIX?.trim();
  const config = localstackConfig(
    {
      ...(flags.endpoint ? { endpoint: flags.endpoint } : {}),
      ...(bucket ? { bucket } : {}),
      ...(queuePrefix ? { queuePrefix } : {}),
    },
    env,
  );
  // functions/ holds the handlers; the worker hosts them as Lambda's event source mappings would.
  const { startLocalWorker } = await import('../hosts/serverless/localWorker.ts');
  const worker = await startLocalWorker({
    endpoint: config.endpoint,
    region: config.region,
    bucket: config.bucket,
    queues: { events: config.queues.events.name, tasks: config.queues.tasks.name, reduce: config.queues.reduce.name },
    visibilityTimeout: config.queues.tasks.visibilityTimeout,
    eventsVisibilityTimeout: config.queues.events.visibilityTimeout,
    log: (line) => process.stderr.write(`worker: ${line}\n`),
    ...(env.PSEUDOLABEL_FAULT_KILL_STAGE ? { killOnReceiveOf: env.PSEUDOLABEL_FAULT_KILL_STAGE } : {}),
  });
  process.stderr.write(
    `worker: consuming ${config.queues.events.name}, ${config.queues.tasks.name}, ${config.queues.reduce.name} for bucket ${config.bucket} at ${config.endpoint}\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.stderr.write('worker: finishing the tasks in hand\n');
  await worker.stop();
  return 0;
}
