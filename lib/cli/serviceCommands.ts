import {
  formatLocalstackStatus,
  localstackConfig,
  localstackDown,
  localstackStatus,
  localstackUp,
} from '../localstack/index.ts';

/** `pseudolabel localstack up|down|status`. */
export async function localstackCommand(action: string, flags: { endpoint?: string }): Promise<number> {
  const overrides = flags.endpoint ? { endpoint: flags.endpoint } : {};
  const log = (line: string) => process.stderr.write(`${line}\n`);
  if (action === 'up') {
    const result = await localstackUp({ ...overrides, log });
    process.stderr.write(
      `localstack ${result.started ? `started (${result.mode}, ${result.startupMs} ms)` : `already running (${result.mode})`} at ${result.config.endpoint}; resources provisioned\n`,
    );
    return 0;
  }
  if (action === 'down') {
    const result = await localstackDown(overrides);
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
 * the resources (the integration tests do).
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
  const { startLocalWorker } = await import('../../functions/local/localWorker.ts');
  const worker = await startLocalWorker({
    endpoint: config.endpoint,
    region: config.region,
    bucket: config.bucket,
    queues: { events: config.queues.events.name, tasks: config.queues.tasks.name, reduce: config.queues.reduce.name },
    visibilityTimeout: config.queues.tasks.visibilityTimeout,
    eventsVisibilityTimeout: config.queues.events.visibilityTimeout,
    log: (line) => process.stderr.write(`worker: ${line}\n`),
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
