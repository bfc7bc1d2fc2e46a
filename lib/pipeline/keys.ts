import type { Stage } from './taskMessage.ts';

/** Object keys of a run (DESIGN.md section 3, "Object layout"). Every stage reads and writes only these. */
export const keys = {
  runPrefix: (runId: string) => `runs/${runId}/`,
  run: (runId: string) => `runs/${runId}/run.json`,
  /** The embedded runner's process id and heartbeat, while it runs (status tells a dead runner by it). */
  runner: (runId: string) => `runs/${runId}/runner.json`,
  plan: (runId: string) => `runs/${runId}/plan.json`,
  shardData: (runId: string, shard: number) => `runs/${runId}/shards/${pad(shard)}/ingest.bin`,
  shardRejected: (runId: string, shard: number) => `runs/${runId}/shards/${pad(shard)}/rejected.json`,
  /** What collect needs of a shard, without its rows (ingest task; shards/shardSummary.ts). */
  shardSummary: (runId: string, shard: number) => `runs/${runId}/shards/${pad(shard)}/summary.bin`,
  shardNeighbors: (runId: string, shard: number) => `runs/${runId}/shards/${pad(shard)}/neighbors.bin`,
  /** The shard's part of the nprobe calibration (cells task, approximate neighbours). */
  shardCalibration: (runId: string, shard: number) => `runs/${runId}/shards/${pad(shard)}/calibration.bin`,
  /** A shard's rows in the IVF cells of a cell range, grouped by cell (cells task). */
  rangeCells: (runId: string, range: number, shard: number) =>
    `runs/${runId}/ranges/${pad(range)}/${pad(shard)}/cells.bin`,
  /**
   * The queries the probes task of shard `shard` routes to cell range `range`: its rows of other ranges that
   * probe a cell of this one (global index, the probed cells here, vector).
   */
  routedQueries: (runId: string, range: number, shard: number) =>
    `runs/${runId}/ranges/${pad(range)}/${pad(shard)}/queries.bin`,
  /**
   * The partial lists that the neighbors task of cell range `range` found for shard `shard`'s rows probing it
   * (the range's own rows first, then the routed queries), among the range's members only; gather merges them.
   */
  partialLists: (runId: string, range: number, shard: number) =>
    `runs/${runId}/ranges/${pad(range)}/${pad(shard)}/partial.bin`,
  /** The neighbour lists of a shard's rows in a cell range (gather, from the partial lists; incremental: the range's neighbors task). */
  rangeNeighbors: (runId: string, range: number, shard: number) =>
    `runs/${runId}/ranges/${pad(range)}/${pad(shard)}/neighbors.bin`,
  /** IVF centroids and calibration queries (collect step), then the calibrated model and cell sizes. */
  ivfTraining: (runId: string) => `runs/${runId}/ivf/training.bin`,
  /** The run's 16-bit codes, made by collect from every row's range, for the train step. */
  ivfCodes: (runId: string) => `runs/${runId}/ivf/codes.bin`,
  /** A shard's rows of the IVF training sample and of the calibration queries (sample task). */
  shardSample: (runId: string, shard: number) => `runs/${runId}/shards/${pad(shard)}/sample.bin`,
  ivfModel: (runId: string) => `runs/${runId}/ivf/model.bin`,
  shardScores: (runId: string, round: number, shard: number) => `runs/${runId}/shards/${pad(shard)}/score-${round}.bin`,
  collected: (runId: string) => `runs/${runId}/collect.json`,
  /** Every accepted row's class index (-1 unlabelled), in row order, as the collect step encoded them. */
  collectedLabels: (runId: string) => `runs/${runId}/labels.bin`,
  /** Where each row's label came from (carriedLabels.ts ORIGIN), one byte per row; absent when all are the user's. */
  collectedOrigins: (runId: string) => `runs/${runId}/origins.bin`,
  /** A shard's per-row outcome (label, confidence, source, round of its accepted rows): lib/pipeline/outputs/shardResults.ts. */
  shardResult: (runId: string, shard: number) => `runs/${runId}/shards/${pad(shard)}/result.bin`,
  /**
   * Fanned-out propagation (lib/pipeline/propagation/partitionGraph.ts). A partition's lists as its edges task sorted them
   * (members ascending, each edge's end among its own rows and its boundary rows).
   */
  partitionLists: (runId: string, partition: number) => `runs/${runId}/propagation/lists/${pad(partition)}.bin`,
  /**
   * What partition `partition` tells the route task of shard `shard`: its members in the shard, the shard's
   * boundary rows it reaches and the in-degree contributions of its edges ending there.
   */
  partitionAsks: (runId: string, shard: number, partition: number) =>
    `runs/${runId}/propagation/asks/${pad(shard)}/${pad(partition)}.bin`,
  shardAsks: (runId: string, shard: number) => `runs/${runId}/propagation/asks/${pad(shard)}/`,
  /** The route task's answer: the partition owning each boundary row of `shard` that `partition` asked about. */
  boundaryOwners: (runId: string, partition: number, shard: number) =>
    `runs/${runId}/propagation/owners/${pad(partition)}/${pad(shard)}.bin`,
  /** The row -> partition map of one shard's rows (route task), and where its rows start in each partition. */
  rowPartitions: (runId: string, shard: number) => `runs/${runId}/propagation/map/${pad(shard)}.bin`,
  /**
   * What the route task of shard `from` sends partition `to` about its rows there: their labels, which of them
   * each other partition reads, and the in-degree contributions of the edges ending in them.
   */
  edgeBucket: (runId: string, to: number, from: number) =>
    `runs/${runId}/propagation/edges/${pad(to)}/${pad(from)}.bin`,
  edgeBuckets: (runId: string, to: number) => `runs/${runId}/propagation/edges/${pad(to)}/`,
  /** knn-rbf's gamma as the fanned-out tasks use it (the run's, or --gamma auto's median heuristic). */
  propagationGamma: (runId: string) => `runs/${runId}/propagation/gamma.json`,
  /** --gamma auto: a partition's positive k-th neighbour distances, ascending, and every 1,024th of them. */
  partitionKth: (runId: string, shard: number) => `runs/${runId}/propagation/kth/${pad(shard)}.bin`,
  partitionKthSample: (runId: string, shard: number) => `runs/${runId}/propagation/kth/${pad(shard)}-sample.bin`,
  /**
   * What every iteration of a partition reads of it (degrees task): its edges (their ends, distances), its
   * boundary rows' owners, who reads which of its rows, its class indices and the square roots of its in-degrees.
   */
  partition: (runId: string, shard: number) => `runs/${runId}/propagation/partitions/${pad(shard)}.bin`,
  /** Square roots of the in-degrees (label spreading) of the rows of partition `from` that partition `to` reaches. */
  partitionDegreesFor: (runId: string, from: number, to: number) =>
    `runs/${runId}/propagation/degrees/${pad(from)}/${pad(to)}.bin`,
  /** F after `iteration` updates: a partition's rows, and the rows of it that partition `to` reaches. */
  partitionRows: (runId: string, iteration: number, shard: number) =>
    `runs/${runId}/propagation/iterations/${iteration}/${pad(shard)}/all.bin`,
  partitionRowsFor: (runId: string, iteration: number, from: number, to: number) =>
    `runs/${runId}/propagation/iterations/${iteration}/${pad(from)}/${pad(to)}.bin`,
  /** The residuals of the fanned-out iterations so far (converge steps). */
  convergence: (runId: string, iteration: number) => `runs/${runId}/propagation/converge-${iteration}.json`,
  /**
   * Graph methods: a shard's rows of the final label distributions (scikit-learn's label_distributions_, rows
   * normalised), n_s x classes Float64, kept so that a dataset version can label new rows (versionModel.ts).
   */
  shardDistributions: (runId: string, shard: number) => `runs/${runId}/shards/${pad(shard)}/distributions.bin`,
  resultSummary: (runId: string) => `runs/${runId}/result.json`,
  /** A shard's part of an output file (`labels.csv`, `rejected.csv`: lines without the header), and its tally. */
  shardOutputPart: (runId: string, shard: number, file: string) => `runs/${runId}/shards/${pad(shard)}/output-${file}`,
  shardOutputSummary: (runId: string, shard: number) => `runs/${runId}/shards/${pad(shard)}/output.json`,
  /** The header line of an output file, the first part finalize concatenates. */
  outputHeader: (runId: string, file: string) => `runs/${runId}/parts/header-${file}`,
  /** Self-training (lib/pipeline/training/selfTrainingRounds.ts): the labelled set after round r (rows, classes, features). */
  roundState: (runId: string, round: number) => `runs/${runId}/rounds/${round}.bin`,
  roundModel: (runId: string, round: number) => `runs/${runId}/rounds/${round}-model.json`,
  /** The model the last round ended with, for the outcome tasks. */
  finalModel: (runId: string) => `runs/${runId}/rounds/final-model.json`,
  /** The rows of a shard that round r labelled (round 0: its given labels kept for training). */
  shardLabelled: (runId: string, round: number, shard: number) =>
    `runs/${runId}/shards/${pad(shard)}/labelled-${round}.bin`,
  /** A shard's self-training state after round r (transduction, labeledIter of its rows). */
  shardRoundState: (runId: string, round: number, shard: number) =>
    `runs/${runId}/shards/${pad(shard)}/round-${round}.bin`,
  stageMarkers: (runId: string, stage: Stage) => `runs/${runId}/markers/${stage}/`,
  markers: (runId: string, stage: Stage, round: number) => `runs/${runId}/markers/${stage}/${round}/`,
  marker: (runId: string, stage: Stage, round: number, shard: number) =>
    `runs/${runId}/markers/${stage}/${round}/${pad(shard)}`,
  /** Written once a reduce step has enqueued what follows it, so a redelivered step does nothing. */
  advanced: (runId: string, stage: Stage, round: number) => `runs/${runId}/markers/advanced/${stage}-${round}`,
  /** Claims of a reduce step by the delivery computing it, by generation (a claim that expired is taken over). */
  claims: (runId: string, stage: Stage, round: number) => `runs/${runId}/markers/claims/${stage}-${round}/`,
  claim: (runId: string, stage: Stage, round: number, generation: number) =>
    `runs/${runId}/markers/claims/${stage}-${round}/${pad(generation)}`,
  output: (runId: string, file: string) => `runs/${runId}/output/${file}`,
};

/** Zero-padded shard numbers keep listings in shard order. */
function pad(shard: number): string {
  return String(shard).padStart(5, '0');
}

/** S3 object tag of intermediate run data; the CDK stack's lifecycle rule expires objects that carry it. */
export const INTERMEDIATE_TAG = { 'pseudolabel:intermediate': 'true' } as const;

/** Whether a key is intermediate run data (everything under runs/<runId>/ but run.json and output/). */
export function isIntermediate(key: string): boolean {
  const match = /^runs\/[^/]+\/(.+)$/.exec(key);
  return match !== null && match[1] !== 'run.json' && !match[1].startsWith('output/');
}
