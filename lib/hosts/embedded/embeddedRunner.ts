import { createHash } from 'node:crypto';
import { availableParallelism, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Piscina } from 'piscina';
import { FilesystemObjectStore } from '../../adapters/filesystemObjectStore.ts';
import { InProcessQueue, type ReceivedMessage } from '../../adapters/inProcessQueue.ts';
import type { ObjectStore } from '../../adapters/objectStore.ts';
import { storeFromUrl } from '../../adapters/storeFromUrl.ts';
import { embeddedHost } from '../../pipeline/capacity.ts';
import { checkDatasetName } from '../../pipeline/datasets/datasetVersions.ts';
import { executeTask, preloadReduceStep } from '../../pipeline/executeTask.ts';
import { keys } from '../../pipeline/keys.ts';
import { failRunOnLastReceive } from '../../pipeline/run/lastReceive.ts';
import {
  markOutputFailed,
  markRunCancelled,
  markRunFailed,
  type RunRecord,
  readRun,
} from '../../pipeline/run/runRecord.ts';
import { startRun } from '../../pipeline/run/startRun.ts';
import { checkWorkers } from '../../pipeline/runLimits.ts';
import type { RunOptions } from '../../pipeline/runOptions.ts';
import type { RunInput } from '../../pipeline/shards/shardPlan.ts';
import type { StageContext, StageLog } from '../../pipeline/stageContext.ts';
import { SHARD_STAGES, type Stage } from '../../pipeline/taskMessage.ts';
import { endDeadRuns } from './deadRuns.ts';
import { embeddedContentKey } from './embeddedRetrain.ts';
import { deleteIntermediates } from './intermediates.ts';
import { type OutputTarget, outputTarget, parseS3Location, resolveRunInputs } from './runLocations.ts';
import { startHeartbeat } from './runnerHeartbeat.ts';
import type { StageWorkerInput, StageWorkerOutput } from './stageWorker.ts';
import { runInTaskProcess, TaskMemoryError, type TaskPlace, TaskProcessSlots } from './taskProcess.ts';
import { stageWorkerEntry } from './workerBundle.ts';

/** Progress of a run: tasks of a stage done out of those sent so far. */
export interface ProgressEvent {
  readonly stage: Stage;
  readonly round: number;
  readonly done: number;
  readonly total: number;
}

/** A task that ran in a child process of its own (`--task-memory`): its process id and peak RSS. */
export interface TaskProcessEvent extends TaskPlace {
  readonly pid: number;
  readonly peakRssBytes: number;
}

export interface EmbeddedRunRequest {
  readonly input: string;
  readonly out: string;
  readonly options: RunOptions;
  /**
   * Publish the labels as the next version of this dataset, in the state directory's label store
   * (datasets/<dataset>/: datasetVersions.ts). Unset: the run publishes nothing.
   */
  readonly dataset?: string;
  /** Where runs/<runId>/ is kept (status reads it). Default ./.pseudolabel */
  readonly stateDir?: string;
  readonly log?: StageLog;
  readonly onProgress?: (event: ProgressEvent) => void;
  /** With `options.taskMemory`: called as each task's child process ends with its task done. */
  readonly onTaskProcess?: (event: TaskProcessEvent) => void;
  /**
   * Fault injection for tests: the share of task deliveries that fail on their first receive, half of them
   * before the task runs and half after it ran (a worker dying before its acknowledgement). Chosen by a hash
   * of the seed and the task's stage, round and shard, so a seed fails the same deliveries in every run.
   */
  readonly faults?: { readonly rate: number; readonly seed: number };
  /**
   * Cancels the run when aborted (the CLI aborts it on SIGINT / SIGTERM, with the signal's name as the reason):
   * no further task starts, running ones are stopped, the intermediates are deleted, run.json says cancelled,
   * and runEmbedded rejects with RunCancelledError.
   */
  readonly signal?: AbortSignal;
}

/** The run ended without output: the reason recorded in run.json, or the error of the last failed task. */
export class RunFailedError extends Error {
  constructor(
    readonly runId: string,
    reason: string,
  ) {
    super(reason);
    this.name = 'RunFailedError';
  }
}

/** The run was cancelled (a signal, or `pseudolabel cancel`): run.json says cancelled, with the reason. */
export class RunCancelledError extends Error {
  constructor(
    readonly runId: string,
    reason: string,
  ) {
    super(reason);
    this.name = 'RunCancelledError';
  }
}

function injectedFault(faults: EmbeddedRunRequest['faults'], message: ReceivedMessage): 'before' | 'after' | undefined {
  if (!faults || message.receiveCount > 1) return undefined;
  // The task's place in the run (not its run id, which holds the start time): a seed injects the same faults
  // in every run, so a test's faults do not depend on the clock.
  const { stage, round, shard } = message.body as { stage?: unknown; round?: unknown; shard?: unknown };
  const digest = createHash('sha256')
    .update(`${faults.seed}:${JSON.stringify([stage, round, shard])}`)
    .digest();
  if (digest.readUInt32BE(0) / 2 ** 32 >= faults.rate) return undefined;
  return digest[4] % 2 === 0 ? 'before' : 'after';
}

/**
 * Reduce steps that run in this thread: plan (the workers are still starting) and finalize (it writes the
 * outputs). The others run in the pool like shard tasks, one at a time as ever, so this thread stays free.
 */
const IN_THIS_THREAD: ReadonlySet<Stage> = new Set(['plan', 'finalize']);

/**
 * The old generation a worker thread starts with, in MB (V8's --initial-old-space-size). Its JS heap holds
 * little (rows and lists live in typed arrays), but from V8's small default start the workers of a 100k run
 * made 23 full collections, 7 from 256 MB. 100k blobs CLI: 4.48 -> 4.41 s (medians of 5; peak RSS 430 -> 500
 * MB); at 1M no change (34.8 s against 35.1 s; peak RSS 1.25 -> 1.53 GB).
 */
const WORKER_INITIAL_OLD_SPACE_MB = 256;

/**
 * The embedded mode: the pipeline's stages over a filesystem store and two in-process queues, shard tasks on a
 * pool of worker threads (piscina, `workers` of them, default one per core), reduce steps one at a time (see
 * IN_THIS_THREAD).
 * Input and output may be local or S3 (`s3://bucket/prefix`, see runLocations.ts): inputs are then read with
 * ranged GETs by the plan and ingest stages, and the output files are written under the out prefix; the run state
 * stays in the local state directory either way.
 * Delivery is at least once, as with SQS: a task that throws is delivered again, up to 3 receives; on its last
 * receive its run is marked failed (lastReceive.ts, as in Lambda).
 */
export async function runEmbedded(request: EmbeddedRunRequest): Promise<RunRecord> {
  const workers = request.options.workers ?? availableParallelism();
  checkWorkers(workers);
  const options = { ...request.options, workers };
  const stateDir = resolve(request.stateDir ?? '.pseudolabel');
  const store = new FilesystemObjectStore(stateDir);
  const tasks = new InProcessQueue();
  const reduce = new InProcessQueue();
  const log = request.log ?? { info: () => {}, warn: () => {} };
  const inputStores = new Map<string, ObjectStore>();
  const inputsAt = (root: string): ObjectStore => {
    const known = inputStores.get(root);
    if (known) return known;
    const opened = storeFromUrl(root);
    inputStores.set(root, opened);
    return opened;
  };
  const ctx: StageContext = { store, inputs: inputsAt, tasks, reduce, log };
  const { root, inputs } = await resolveRunInputs(request.input);
  const out = outputTarget(request.out);
  await out.prepare(request.input);
  // Runs of earlier runners that were killed (SIGKILL, a restart): failed, their intermediates deleted.
  await endDeadRuns(store, log);
  const host = embeddedHost(options.taskMemory, totalmem());
  if (request.dataset !== undefined) checkDatasetName(request.dataset);
  const run = await startRun(ctx, {
    dataset: request.dataset ?? request.input,
    inputRoot: root,
    inputs,
    options,
    host,
    ...(request.dataset !== undefined ? await versionedRun(store, request.dataset, request, inputs) : {}),
  });
  // Stops the run: a signal (request.signal), or the run cancelled in run.json (`pseudolabel cancel`), which the
  // heartbeat looks at every beat.
  const stop = new AbortController();
  const stopOnSignal = () => stop.abort(request.signal?.reason);
  if (request.signal?.aborted) stopOnSignal();
  request.signal?.addEventListener('abort', stopOnSignal, { once: true });
  const heartbeat = await startHeartbeat(store, run.runId, async () => {
    if ((await readRun(store, run.runId)).status === 'cancelled') stop.abort('pseudolabel cancel');
  });
  try {
    return await driveRun();
  } finally {
    request.signal?.removeEventListener('abort', stopOnSignal);
    await heartbeat.stop();
  }

  async function driveRun(): Promise<RunRecord> {
    // --task-memory: every task (reduce steps too) in a child process of its own, `workers` at a time.
    const taskMemory = options.taskMemory;
    const processes = taskMemory === undefined ? undefined : new TaskProcessSlots(workers);
    const processEntry = processes ? await stageWorkerEntry() : undefined;
    // V8 sizes a new thread's heap from its flags (process-wide): set before the pool's threads start.
    if (workers > 1 && !processes) setFlagsFromString(`--initial-old-space-size=${WORKER_INITIAL_OLD_SPACE_MB}`);
    const pool =
      workers > 1 && !processes
        ? new Piscina<StageWorkerInput, StageWorkerOutput>({
            filename: await stageWorkerEntry(),
            minThreads: workers,
            maxThreads: workers,
          })
        : undefined;
    let poolClosed: Promise<void> | undefined;
    /** Ends the worker threads (once); a task running in one rejects and is not delivered again. */
    const closePool = (): Promise<void> | undefined => {
      poolClosed ??= pool?.destroy();
      return poolClosed;
    };
    stop.signal.addEventListener('abort', () => closePool()?.catch(() => {}), { once: true });
    const counts = new Map<string, { done: number; total: number }>();
    const progress = (body: unknown, change: 'sent' | 'done') => {
      const { stage, round } = body as { stage: Stage; round: number };
      const key = `${stage}/${round}`;
      const count = counts.get(key) ?? { done: 0, total: 0 };
      if (change === 'sent') count.total++;
      else count.done++;
      counts.set(key, count);
      if (change === 'done') request.onProgress?.({ stage, round, ...count });
    };
    let lastError: unknown;
    /** Set when a task went over --task-memory: the run has failed, what is still queued is only acknowledged. */
    let overMemory = false;
    // This thread loads finalize's modules (the report renderer, vega: about 0.2 s) while the first reduce step
    // in a worker runs on another core.
    let finalizePreloaded = false;

    /** The rule of every host (lastReceive.ts): a task failing on its last receive fails its run. */
    const markRunOnLastReceive = async (message: ReceivedMessage, maxReceives: number, error: unknown) => {
      const delivery = { body: message.body, receives: message.receiveCount, maxReceives, error };
      try {
        const failed = await failRunOnLastReceive(store, delivery);
        if (failed)
          log.warn('task failed on its last receive; run marked failed', { ...failed.task, reason: failed.reason });
      } catch (markError) {
        log.warn('task failed on its last receive; the run could not be marked failed', { error: String(markError) });
      }
    };

    /** Runs one received message and settles it: ack, or redelivery on failure (injected or real). */
    const handle = async (queue: InProcessQueue, message: ReceivedMessage, inWorker: boolean) => {
      if (overMemory || stop.signal.aborted) {
        queue.ack(message.id);
        return;
      }
      const fault = injectedFault(request.faults, message);
      try {
        if (fault === 'before') throw new Error(`injected fault before ${JSON.stringify(message.body)}`);
        let sent: StageWorkerOutput;
        if (processes && processEntry && taskMemory !== undefined) {
          const place = message.body as TaskPlace;
          const input = { storeRoot: stateDir, body: message.body, ownProcess: true };
          const hint = memoryHint(place.stage, options.shards);
          const ended = await processes.run(() =>
            runInTaskProcess(processEntry, input, place, taskMemory, hint, stop.signal),
          );
          request.onTaskProcess?.({ stage: place.stage, round: place.round, shard: place.shard, ...ended });
          sent = ended.sent;
        } else if (inWorker && pool) {
          sent = await pool.run({ storeRoot: stateDir, body: message.body });
        } else {
          const taskSink = new InProcessQueue();
          const reduceSink = new InProcessQueue();
          await executeTask({ ...ctx, tasks: taskSink, reduce: reduceSink }, message.body);
          sent = { tasks: drain(taskSink), reduce: drain(reduceSink) };
        }
        for (const body of sent.tasks) progress(body, 'sent');
        await tasks.sendBatch(sent.tasks);
        await reduce.sendBatch(sent.reduce);
        if (fault === 'after') throw new Error(`injected fault after ${JSON.stringify(message.body)}`);
        queue.ack(message.id);
        if (queue === tasks) progress(message.body, 'done');
      } catch (error) {
        lastError = error;
        if (error instanceof TaskMemoryError) {
          // It would go over again on every delivery: the run fails now, with the reason.
          overMemory = true;
          log.warn('task went over --task-memory; run failed', { body: message.body, error: error.message });
          await markRunFailed(store, run.runId, { stage: error.place.stage, error: error.message });
          queue.ack(message.id);
          return;
        }
        await markRunOnLastReceive(message, queue.maxReceives, error);
        log.warn('task failed; it will be delivered again', { body: message.body, error: String(error) });
        queue.fail(message.id);
      }
    };

    try {
      while (!stop.signal.aborted) {
        const step = reduce.receive();
        if (step) {
          const inWorker = pool !== undefined && !IN_THIS_THREAD.has((step.body as { stage?: Stage }).stage as Stage);
          if (inWorker && !finalizePreloaded) {
            finalizePreloaded = true;
            // A failed load is reported when finalize itself loads the module.
            preloadReduceStep('finalize').catch(() => {});
          }
          await handle(reduce, step, inWorker);
          continue;
        }
        const batch: ReceivedMessage[] = [];
        for (let message = tasks.receive(); message; message = tasks.receive()) batch.push(message);
        if (batch.length === 0) break;
        await Promise.all(batch.map((message) => handle(tasks, message, true)));
      }
    } catch (error) {
      await closePool();
      await heartbeat.stop();
      await deleteIntermediates(store, run.runId).catch(() => {});
      const reason = `the embedded runner failed: ${error instanceof Error ? error.message : String(error)}`;
      await markRunFailed(store, run.runId, { error: reason }).catch(() => {});
      throw error;
    }
    // runner.json goes with the intermediates: no beat may write it again.
    await heartbeat.stop();
    // The workers end while the outputs are copied and the intermediates deleted (about 20 ms).
    const closed = closePool();
    closed?.catch(() => {}); // its error is thrown where it is awaited, below
    try {
      const final = await readRun(store, run.runId);
      if (final.status === 'succeeded') {
        try {
          await copyOutputs(store, run.runId, out);
        } catch (error) {
          // The outputs did not reach --out (a full disk): the run has failed, with the path and the OS error.
          const reason = error instanceof Error ? error.message : String(error);
          await out.clear();
          await markOutputFailed(store, run.runId, reason);
          await deleteIntermediates(store, run.runId);
          throw new RunFailedError(run.runId, reason);
        }
        await deleteIntermediates(store, run.runId);
        return final;
      }
      // A failed or cancelled run keeps only run.json: its intermediates are of no further use (a run does not
      // resume), and deleting them first frees the disk when a full disk is why it failed. The workers have
      // ended first, so that none writes after them.
      await closed;
      await deleteIntermediates(store, run.runId);
      if (final.status === 'cancelled' || (final.status === 'running' && stop.signal.aborted)) {
        const cancelled = await markRunCancelled(store, run.runId, `cancelled by ${String(stop.signal.reason)}`);
        throw new RunCancelledError(run.runId, cancelled.error ?? 'cancelled');
      }
      // A failed run's output holds at most rejected.csv (rows rejected, run refused): the user needs its reasons.
      await copyOutputs(store, run.runId, out);
      const reason =
        final.error ??
        `the run stopped at stage ${final.stage}: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
      if (final.status === 'running') {
        // Nothing is left to run and the run has not ended (its last-receive failure could not be recorded): no
        // one will move it on, so record its end here.
        await markRunFailed(store, run.runId, { error: reason });
      }
      throw new RunFailedError(run.runId, reason);
    } finally {
      await closed;
    }
  }
}

/** A dataset run's request as asked and its digest, for `retrain` over the state directory (embeddedRetrain.ts). */
async function versionedRun(
  store: FilesystemObjectStore,
  dataset: string,
  request: EmbeddedRunRequest,
  inputs: readonly RunInput[],
): Promise<{ versioned: true; request: NonNullable<RunRecord['request']>; contentKey: string }> {
  const input = parseS3Location(request.input) ? request.input : resolve(request.input);
  const asked = { input, options: request.options };
  const contentKey = await embeddedContentKey(store, dataset, input, inputs, request.options);
  return { versioned: true, request: asked, contentKey };
}

/** What would let a task that went over --task-memory fit. */
function memoryHint(stage: Stage, shards: number | undefined): string {
  if (SHARD_STAGES.has(stage)) {
    const more = shards === undefined ? 'more shards (--shards)' : `more shards (--shards ${shards * 2})`;
    return `${more} make each ${stage} task smaller, or raise --task-memory`;
  }
  return `the ${stage} step holds the whole run in one task: raise --task-memory (on Lambda, the reducer's memory)`;
}

function drain(queue: InProcessQueue): unknown[] {
  const bodies: unknown[] = [];
  for (let message = queue.receive(); message; message = queue.receive()) bodies.push(message.body);
  return bodies;
}

async function copyOutputs(store: FilesystemObjectStore, runId: string, out: OutputTarget): Promise<void> {
  const prefix = keys.output(runId, '');
  for (const key of await store.keys(prefix)) {
    await out.write(key.slice(prefix.length), await store.get(key));
  }
}
