import { MAX_IDS } from '../data/idHashes.ts';
import { CapacityError } from '../errors.ts';
import { defaultNlist } from '../graph/ivf/ivfModel.ts';
import { SAMPLE_ROWS_PER_CELL } from '../graph/ivf/ivfSample.ts';
import { fansOutPropagation, singleProcessBytes } from './propagation/propagationFanOut.ts';
import { effectiveMaxIter, isGraphMethod, type RunOptions } from './runOptions.ts';
import type { Stage } from './taskMessage.ts';

/**
 * Knows a run's size before it starts (issue 16): from the plan (rows, features, classes, k, method, mode,
 * shards) it estimates each step's peak memory and the longest task's time, and refuses, with a CapacityError
 * naming the option that would make it fit, a run one of whose tasks cannot fit the host: a `--task-memory`
 * process, this machine, or a Lambda function (memory from the stack config, 15 minutes).
 *
 * The figures are the per-task measurements of report.json's stageMetrics (peak RSS of a process of its own,
 * `--task-memory`), bench/measured/scaleout-mixture-250k-e812d6d.json: 250,000 x 64 mixture, 10 classes, k = 10,
 * 4 shards of 62,500 rows, approx mode, label spreading, 8 iterations, on a 2-core machine shared with other jobs
 * (load about 18, so the times are on the slow side). MB here are MiB, as Lambda's. Memory per row is (peak RSS
 * - NODE_TASK_BYTES) / rows held; it is scaled by d / 64 where features dominate (shard tasks) and by classes
 * and k where the labels and the graph do (propagate). Estimates, not bounds: the watchdog of `--task-memory` still stops a task that goes over.
 */

const MB = 2 ** 20;

/** A task process that has loaded the stage worker, before any data: 58-62 MB (digits and 250k runs). */
export const NODE_TASK_BYTES = 60 * MB;
/** ingest: 130.9 MB peak for 62,500 rows x 64 (the text read, the rows parsed, the shard encoded). */
export const INGEST_BYTES_PER_SHARD_ROW_D64 = 1_190;
/** cells: 160.3 MB peak for 62,500 rows x 64 (rows, int16 codes, the cells written, the calibration lists). */
export const CELLS_BYTES_PER_SHARD_ROW_D64 = 1_680;
/**
 * cells, per centroid of the run's model (defaultNlist(n): it grows with n as sqrt(n) to n / 1000): the centroid
 * table and its packed copy for the distance kernel, the calibration's block of 64 queries' hyperplane bounds and
 * distance tile (64 doubles a centroid each, ivfExactSearch.ts), its row of gaps, and the cell offsets, sizes and
 * ranges. bench/cellsMemory.ts (one 62,500-row shard x 64): 147-149 MB at 2,000 centroids, 153-156 MB at 6,325
 * (a 10M-row run's), about 1.6 KB a centroid (before the calibration went by query blocks: 193 and 325 MB).
 */
export const CELLS_BYTES_PER_CENTROID = (d: number) => 2 * 64 * 8 + 3 * 4 * d + 64;
/**
 * probes (approx): its shard's rows decoded by cell range with their probe lists, and their copies to the other
 * ranges they probe, which grow with the share of probes that leave a row's range (at most nprobe - 1 copies):
 * 103.0 MB at 250k (4 ranges), 138.9 MB at 2M (32), 62,500 rows x 64 a shard; the 2M figure
 * (bench/measured/scaleout-mixture-250k-2m-tm512-routed.json).
 */
export const PROBES_BYTES_PER_SHARD_ROW_D64 = 1_300;
/**
 * neighbors (approx, queries routed to the ranges they probe): its range's members (about a shard's rows, their
 * vectors, norms, code words and kept nearest cells) and one block of queries (QUERY_BLOCK_BYTES of
 * stages/neighbors.ts, plus at most one source shard's) with their lists, whatever n: 167.8 MB at 250k and
 * 194.2 MB at 2M, 62,500 rows x 64 a shard (bench/measured/scaleout-mixture-250k-2m-tm512-routed.json).
 */
export const NEIGHBORS_BYTES_PER_SHARD_ROW_D64 = 2_200;
/** neighbors (exact), beside the reference shard it holds: 251.7 MB peak with 112.3 MB of cells (e812d6d). */
export const EXACT_NEIGHBORS_BYTES_PER_SHARD_ROW_D64 = 1_420;
/**
 * collect reads each shard's summary (shards/shardSummary.ts: 8 bytes a row of id hash, the labelled rows, O(d)
 * sums and ranges), not the shard, beside what grows with the run: the 64-bit hash of every id (IdHashes,
 * lib/data/idHashes.ts: 11.4 bytes a row, presized) and a 4-byte class code per row (COLLECT_BYTES_PER_ROW); the
 * IVF sample is the sample tasks' and the train step's. Measured with `--task-memory 512`, 62,500 rows a shard
 * (bench/measured/scaleout-mixture-250k-1m-tm512-collectsum.json): 90.9 MB at 250,000 rows and 108.8 MB at 1M,
 * which the terms below give as 92 and 109 MB. It still decodes whole shards, one at a time, for robust scaling,
 * auto, the holdout and carried labels (collectReadsShards), for which one decoded shard is added (as measured
 * when collect read every shard: 140.9 MB at 250k, 155.8 MB at 1M and 175.8 MB at 2M with its IVF sample,
 * -collectflat.json), and for the rows of repeated ids and dataset runs' corrections, which it does not budget.
 */
export const COLLECT_BYTES_PER_SHARD_ROW_D64 = 1_300;
/**
 * collect's own beside a task process, per row of a shard when it reads summaries: fitted to the two runs above
 * (all at d = 64, scaled by d / 64 as the decoded shard was): a reduce step's modules and one summary at a time.
 */
export const SUMMARY_BYTES_PER_SHARD_ROW_D64 = 440;

/**
 * Whether collect decodes whole shards (one at a time) beside their summaries: robust scaling's order statistics,
 * auto's search and the holdout's labelled rows, carried labels looked up by id (a shard's ids as strings).
 */
export function collectReadsShards(options: RunSize['options']): boolean {
  const { scale, method, holdout = 0, carryForward } = options;
  return scale === 'robust' || method === 'auto' || holdout > 0 || carryForward === true;
}

/**
 * collect, per row of the run: 8 bytes of id hash at most 70% of the slots full and a 4-byte class code (15.4),
 * measured 24 between 250k and 1M rows at 62,500 rows a shard (the summaries' garbage between collections).
 */
export const COLLECT_BYTES_PER_ROW = 24;
/**
 * sample: a shard's rows loaded as every stage loads them (its shard decoded, scaled rows copied), and the few
 * sample rows it picks; taken as a cells task's less the cells and calibration lists (not measured on its own).
 */
export const SAMPLE_BYTES_PER_SHARD_ROW_D64 = 1_190;
/**
 * The IVF sample the train step reads (40 rows a cell, Float32: the shards' parts and then the sample joined,
 * taken as 1.39 times the sample), and half as much again for k-means' own arrays while it trains.
 */
export function trainSampleBytes(n: number, d: number): number {
  return 1.5 * 1.39 * SAMPLE_ROWS_PER_CELL * defaultNlist(n) * 4 * d;
}
/** output: 81.8 MB peak for 62,500 rows (a shard's ids and result, its labels.csv part). */
export const OUTPUT_BYTES_PER_SHARD_ROW = 370;
/** finalize, which assembles the output parts: 74.6 MB peak for 250,000 rows. */
export const FINALIZE_BYTES_PER_ROW = 60;
/**
 * Co-training (and `--method auto`'s cross-validation) holds every row's features and class scores (O(n x d)):
 * not measured yet; Float32 features plus doubles per class, twice (the rows and their copy for the fit).
 */
export const FIT_BYTES_PER_ROW = (d: number, classes: number) => 2 * (4 * d + 8 * classes);
/**
 * Self-training's reduce step fits on the labelled rows and pseudo-labels only (O(labelled x d)); per row of the
 * run it keeps a label and a round (not measured yet: two 4-byte arrays and their candidates' scores, doubled).
 */
export const SELF_TRAINING_BYTES_PER_ROW = 32;
/**
 * A self-training score task, per row of its shard: the rows' Float32 features and their selection (twice), their
 * ids and lines (about 200 bytes), and the class probabilities of predictProba with its logits (two doubles a
 * class). Not measured yet; it is what holds the classes in a self-training run (the reduce step holds the
 * labelled rows), so a label column of as many classes as rows is refused here.
 */
export const SCORE_BYTES_PER_SHARD_ROW = (d: number, classes: number) => 8 * d + 200 + 16 * classes;

/** neighbors, approx: the longest of 4 tasks took 8.95 s for 62,500 queries at d = 64 (nprobe 5 of 250). */
export const APPROX_SECONDS_PER_QUERY_D64 = 1.45e-4;
/** neighbors, exact: 3.61 s for 10,000 x 20,000 pairs at d = 64 (scaleout harness, 20k rows, 2 shards). */
export const EXACT_SECONDS_PER_PAIR_FEATURE = 2.8e-10;
/** propagate: 2.98 s for 250,000 rows x 10 neighbours x 8 iterations, graph building included. */
export const PROPAGATE_SECONDS_PER_EDGE_ITERATION = 1.5e-7;
/** Lambda's limit on a function's run time. */
export const LAMBDA_TASK_SECONDS = 15 * 60;
/** Lambda's memory range. */
export const LAMBDA_MAX_MEMORY_MB = 10_240;

/** Where the tasks of a run will run, and what each may use. Recorded in run.json when the run starts. */
export interface HostCapacity {
  readonly kind: 'task-memory' | 'machine' | 'lambda';
  /** Bytes a shard task's process may reach. */
  readonly shardTaskBytes: number;
  /** Bytes a reduce step's process may reach. */
  readonly reduceStepBytes: number;
  /** Longest a task may run, in seconds; absent: no limit. (Not Infinity: run.json keeps it, and JSON cannot.) */
  readonly taskSeconds?: number;
}

/** The embedded runner: `--task-memory MB` per task, else every task in this machine's memory. */
export function embeddedHost(taskMemoryMb: number | undefined, machineBytes: number): HostCapacity {
  if (taskMemoryMb !== undefined) {
    const bytes = taskMemoryMb * MB;
    return { kind: 'task-memory', shardTaskBytes: bytes, reduceStepBytes: bytes };
  }
  return { kind: 'machine', shardTaskBytes: machineBytes, reduceStepBytes: machineBytes };
}

/** Lambda: the worker and reducer functions' memory (stack config, default 3,008 MB each), 15 minutes a task. */
export function lambdaHost(workerMemoryMb: number, reducerMemoryMb: number): HostCapacity {
  return {
    kind: 'lambda',
    shardTaskBytes: workerMemoryMb * MB,
    reduceStepBytes: reducerMemoryMb * MB,
    taskSeconds: LAMBDA_TASK_SECONDS,
  };
}

/** What the estimate needs to know of a run. */
export interface RunSize {
  readonly rows: number;
  readonly features: number;
  /** At least 2 (the plan step does not know the labels yet: the estimate is then the least a run needs). */
  readonly classes: number;
  readonly shards: number;
  readonly options: Pick<RunOptions, 'method' | 'kernel' | 'neighbors' | 'neighborsMode' | 'maxIter' | 'rounds'> &
    Partial<Pick<RunOptions, 'holdout' | 'gamma' | 'taskMemory' | 'scale' | 'carryForward'>>;
}

/** One step's estimate: the largest task's peak memory and its time (propagate: max_iter iterations). */
export interface StepEstimate {
  readonly stage: Stage;
  readonly shardTask: boolean;
  readonly bytes: number;
  readonly seconds: number;
}

function usesGraph(options: RunSize['options']): boolean {
  const method = options.method;
  return (isGraphMethod(method) || method === 'auto') && options.kernel !== 'rbf';
}

function approx(size: RunSize): boolean {
  // planNeighbors: approx from 50,000 rows unless the option says otherwise
  return size.options.neighborsMode === 'approx' || (size.options.neighborsMode === undefined && size.rows >= 50_000);
}

/**
 * The steps a run will take, each with its largest task's estimated memory and time. On Lambda the propagate step
 * chooses its fan-out by the reducer's memory (propagationFanOut.ts), so the host's is used for that choice.
 */
export function estimateSteps(size: RunSize, host?: HostCapacity): StepEstimate[] {
  const { rows: n, features: d, classes, options } = size;
  const shardRows = Math.ceil(n / Math.max(1, size.shards));
  const perD = d / 64;
  const k = options.neighbors;
  const steps: StepEstimate[] = [
    {
      stage: 'ingest',
      shardTask: true,
      bytes: NODE_TASK_BYTES + shardRows * INGEST_BYTES_PER_SHARD_ROW_D64 * perD,
      seconds: 0,
    },
    {
      stage: 'collect',
      shardTask: false,
      bytes:
        NODE_TASK_BYTES +
        shardRows *
          perD *
          (collectReadsShards(options) ? COLLECT_BYTES_PER_SHARD_ROW_D64 : SUMMARY_BYTES_PER_SHARD_ROW_D64) +
        n * COLLECT_BYTES_PER_ROW,
      seconds: 0,
    },
  ];
  if (usesGraph(options)) {
    if (approx(size)) {
      steps.push(
        {
          stage: 'sample',
          shardTask: true,
          bytes: NODE_TASK_BYTES + shardRows * SAMPLE_BYTES_PER_SHARD_ROW_D64 * perD,
          seconds: 0,
        },
        { stage: 'train', shardTask: false, bytes: NODE_TASK_BYTES + trainSampleBytes(n, d), seconds: 0 },
        {
          stage: 'cells',
          shardTask: true,
          bytes:
            NODE_TASK_BYTES +
            shardRows * CELLS_BYTES_PER_SHARD_ROW_D64 * perD +
            defaultNlist(n) * CELLS_BYTES_PER_CENTROID(d),
          seconds: 0,
        },
        {
          stage: 'probes',
          shardTask: true,
          bytes: NODE_TASK_BYTES + shardRows * PROBES_BYTES_PER_SHARD_ROW_D64 * perD,
          seconds: 0,
        },
        {
          stage: 'neighbors',
          shardTask: true,
          bytes: NODE_TASK_BYTES + shardRows * NEIGHBORS_BYTES_PER_SHARD_ROW_D64 * perD,
          seconds: shardRows * APPROX_SECONDS_PER_QUERY_D64 * perD,
        },
      );
    } else {
      // one reference shard at a time beside the query shard
      steps.push({
        stage: 'neighbors',
        shardTask: true,
        bytes: NODE_TASK_BYTES + 2 * shardRows * EXACT_NEIGHBORS_BYTES_PER_SHARD_ROW_D64 * perD,
        seconds: shardRows * n * d * EXACT_SECONDS_PER_PAIR_FEATURE,
      });
    }
    // the one-process step's graph and distributions (propagationFanOut.ts: 744 bytes a row at k = classes = 10;
    // this benchmark measured 236.4 MB for 250,000 rows, 740)
    const perRow = singleProcessBytes(1, k, classes);
    const iterations = effectiveMaxIter(options);
    const taskMemory = host?.kind === 'lambda' ? Math.floor(host.reduceStepBytes / MB) : options.taskMemory;
    if (fansOutPropagation({ ...options, taskMemory }, n, classes, process.env, host)) {
      // one task per partition and iteration: its rows' graph and distributions, and the F of the rows its edges
      // reach (at most k a row); not measured yet
      steps.push({
        stage: 'iterate',
        shardTask: true,
        bytes: NODE_TASK_BYTES + shardRows * (perRow + k * classes * 8),
        seconds: shardRows * k * PROPAGATE_SECONDS_PER_EDGE_ITERATION,
      });
    } else {
      steps.push({
        stage: 'propagate',
        shardTask: false,
        bytes: NODE_TASK_BYTES + n * perRow,
        seconds: n * k * iterations * PROPAGATE_SECONDS_PER_EDGE_ITERATION,
      });
    }
  } else if (options.method === 'self-training') {
    steps.push({
      stage: 'score',
      shardTask: true,
      bytes: NODE_TASK_BYTES + shardRows * SCORE_BYTES_PER_SHARD_ROW(d, classes),
      seconds: 0,
    });
    steps.push({
      stage: 'reduce',
      shardTask: false,
      bytes: NODE_TASK_BYTES + n * SELF_TRAINING_BYTES_PER_ROW,
      seconds: 0,
    });
  } else {
    steps.push({
      stage: 'propagate',
      shardTask: false,
      bytes: NODE_TASK_BYTES + n * FIT_BYTES_PER_ROW(d, classes),
      seconds: 0,
    });
  }
  steps.push(
    // each shard's parts of the output files (self-training's outcome tasks write them with the final labels)
    {
      stage: options.method === 'self-training' ? 'outcome' : 'output',
      shardTask: true,
      bytes: NODE_TASK_BYTES + shardRows * OUTPUT_BYTES_PER_SHARD_ROW,
      seconds: 0,
    },
    { stage: 'finalize', shardTask: false, bytes: NODE_TASK_BYTES + n * FINALIZE_BYTES_PER_ROW, seconds: 0 },
  );
  return steps;
}

function overTime(step: StepEstimate, host: HostCapacity): boolean {
  return host.taskSeconds !== undefined && step.seconds > host.taskSeconds;
}

const inMb = (bytes: number) => `${Math.ceil(bytes / MB).toLocaleString('en-US')} MB`;

/** The smallest shard count (doubling) at which a shard step fits, or undefined when no count does. */
function shardsThatFit(size: RunSize, stage: Stage, host: HostCapacity): number | undefined {
  for (let shards = size.shards * 2; shards <= Math.max(2, size.rows); shards *= 2) {
    const step = estimateSteps({ ...size, shards }, host).find((s) => s.stage === stage);
    if (step && step.bytes <= host.shardTaskBytes && !overTime(step, host)) return shards;
  }
  return undefined;
}

/** What would make a step that does not fit, fit: the option to change. */
function remedy(size: RunSize, step: StepEstimate, host: HostCapacity, overTime: boolean): string {
  if (step.shardTask) {
    const shards = shardsThatFit(size, step.stage, host);
    const options: string[] = [];
    if (shards !== undefined) options.push(`more shards (--shards ${shards})`);
    if (step.stage === 'neighbors' && overTime && !approx(size))
      options.push('approximate search (--neighbors-mode approx)');
    if (!overTime) options.push(memoryOption(host, step));
    return options.join(', or ');
  }
  if (overTime) return 'fewer iterations (--max-iter) or a smaller input';
  return memoryOption(host, step);
}

function memoryOption(host: HostCapacity, step: StepEstimate): string {
  const needed = Math.ceil(step.bytes / MB);
  if (host.kind === 'task-memory') return `--task-memory ${needed}`;
  if (host.kind === 'machine') return `a machine with more memory than ${inMb(step.bytes)}`;
  const fn = step.shardTask ? 'worker' : 'reducer';
  return needed <= LAMBDA_MAX_MEMORY_MB
    ? `more ${fn} memory (${fn}MemoryMb ${needed} in the stack config)`
    : `a smaller input: it is over Lambda's ${LAMBDA_MAX_MEMORY_MB.toLocaleString('en-US')} MB`;
}

function hostName(host: HostCapacity, step: StepEstimate): string {
  const limit = step.shardTask ? host.shardTaskBytes : host.reduceStepBytes;
  if (host.kind === 'task-memory') return `--task-memory ${Math.round(limit / MB)} MB`;
  if (host.kind === 'machine') return `this machine's ${inMb(limit)}`;
  return `the ${step.shardTask ? 'worker' : 'reducer'} Lambda's ${inMb(limit)}`;
}

/** Steps whose memory grows with classes: the label distributions (n x classes doubles). */
const CLASS_STEPS: readonly Stage[] = ['propagate', 'iterate', 'score'];

/**
 * A label column of about as many classes as rows is more often the wrong column than a real problem: said when
 * a step whose memory grows with classes does not fit and the run has more than MANY_CLASSES of them.
 */
function classesNote(size: RunSize, step: StepEstimate): string {
  if (!CLASS_STEPS.includes(step.stage) || size.classes <= MANY_CLASSES) return '';
  return (
    ` (its label distributions are ${size.classes.toLocaleString('en-US')} classes a row: is the label column ` +
    '(--label-column) the right one? or merge rare labels)'
  );
}

/** More classes than this and a refusal asks whether the label column is the right one. */
const MANY_CLASSES = 100;

/**
 * Refuses a run one of whose steps cannot fit the host: a CapacityError naming the step, its estimate, the
 * limit and the option that would make it fit. Returns the estimates when every step fits.
 */
export function checkCapacity(size: RunSize, host: HostCapacity): StepEstimate[] {
  const steps = estimateSteps(size, host);
  // Made only for a refusal: the first toLocaleString of a process loads ICU's locale data (30-70 ms measured),
  // which a run that fits would otherwise pay in its plan step, on the critical path.
  const about = () => `${size.rows.toLocaleString('en-US')} rows x ${size.features} features`;
  if (size.rows > MAX_IDS) {
    throw new CapacityError(
      `the run cannot fit: collect's duplicate-id detection holds at most ${MAX_IDS.toLocaleString('en-US')} ids ` +
        `(lib/data/idHashes.ts), and ${about()} has more: split the input into several runs`,
    );
  }
  for (const step of steps) {
    const limit = step.shardTask ? host.shardTaskBytes : host.reduceStepBytes;
    const task = step.shardTask ? `each ${step.stage} task (${size.shards} shards)` : `the ${step.stage} step`;
    if (step.bytes > limit) {
      throw new CapacityError(
        `the run cannot fit: ${task} would need about ${inMb(step.bytes)} for ${about()}, over ${hostName(host, step)}; ` +
          `use ${remedy(size, step, host, false)}${classesNote(size, step)}`,
      );
    }
    // Only shard tasks' times are refused: propagate's is for max_iter iterations, and most runs converge sooner.
    if (step.shardTask && overTime(step, host)) {
      throw new CapacityError(
        `the run cannot fit: ${task} would take about ${Math.ceil(step.seconds / 60)} minutes for ${about()}, over ` +
          `Lambda's ${(host.taskSeconds ?? 0) / 60} minutes a task; use ${remedy(size, step, host, true)}`,
      );
    }
  }
  return steps;
}

/**
 * Rows of an input estimated before reading it: its bytes over the mean line length of a sample of its head
 * (CSV, JSONL; the header line counted as a row, which errs on the side of more rows), or over 4 bytes a value
 * for Parquet (Float32 columns, uncompressed).
 */
export function estimateRows(totalBytes: number, head: Uint8Array | undefined, features: number): number {
  if (!head || head.byteLength === 0) return Math.ceil(totalBytes / Math.max(1, 4 * features));
  // indexOf, not a loop over every byte: the plan step runs this once per run, cold (CPU for 256 KB: 6.4 ms, now 0.2)
  let lines = 0;
  for (let at = head.indexOf(0x0a); at >= 0; at = head.indexOf(0x0a, at + 1)) lines++;
  if (lines === 0) return 1;
  // only whole lines: the bytes up to the last line break
  const whole = head.lastIndexOf(0x0a) + 1;
  return Math.ceil(totalBytes / (whole / lines));
}
