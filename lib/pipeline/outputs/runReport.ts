import type { FeatureScaling } from '../../data/featureScaling.ts';
import type { VersionChanges } from '../datasets/versionChanges.ts';
import type { IncrementalReport } from '../incremental/incrementalReport.ts';
import type { AutoSearch } from '../modelSelection/autoSearch.ts';
import type { RunHoldout } from '../modelSelection/holdoutRun.ts';
import type { NeighborsPlan } from '../neighbors/neighborsPlan.ts';
import type { RunOptions } from '../runOptions.ts';
import type { StageMetrics } from '../taskMetrics.ts';
import type { SourceCounts } from './rowOutcome.ts';

/** Counts of one round: how many rows carry each class from each source after the round. */
export interface RoundReport {
  readonly round: number;
  /** Rows labelled in this round (round 0: given + propagated). */
  readonly added: number;
  /** counts[source][class] after this round, over all rows. */
  readonly counts: SourceCounts;
  /** Histogram of the confidence of every labelled row after this round: 20 bins over [0, 1]. */
  readonly confidenceHistogram: number[];
}

export interface Metrics {
  readonly accuracy: number;
  readonly macroF1: number;
}

/** report.json: everything a user needs to judge a run. Keys are part of the output contract. */
export interface RunReport {
  readonly runId: string;
  readonly method: RunOptions['method'];
  readonly methodReason?: string;
  /** `--method auto`: every setting tried with its mean cross-validated accuracy and spread, best first. */
  readonly auto?: AutoSearch;
  /** The options as the method ran them (maxIter and threshold resolved; `rounds`, maxIter's alias, left out). */
  readonly parameters: RunOptions & { maxIter: number; threshold: number };
  /** How the kNN graph was searched (methods that use one). */
  readonly neighbors?: NeighborsPlan;
  /** `--scale` with its per-feature centre and scale, and the features' spread ratio (featureScaling.ts). */
  readonly scaling?: FeatureScaling;
  readonly n: number;
  readonly d: number;
  readonly classes: string[];
  readonly given: number;
  readonly rounds: RoundReport[];
  readonly convergence: {
    readonly nIter: number;
    readonly converged: boolean;
    readonly terminationReason: string;
    readonly finalDelta: number | null;
    /** Sum of absolute changes of the label distributions per iteration (propagation methods). */
    readonly deltas: number[];
  };
  /** Graph methods: rows no label reached (source none), and what may reach them. */
  readonly unreached?: { readonly rows: number; readonly hint?: string };
  /** rbf kernels: the width used, and whether --gamma auto set it (median heuristic). */
  readonly gamma?: { readonly value: number; readonly auto: boolean };
  /** Co-training: the columns of each view, and whether they are the default halves (no --views). */
  readonly views?: { readonly a: string[]; readonly b: string[]; readonly byDefault: boolean };
  readonly holdout?: RunHoldout;
  /** Milliseconds per stage. */
  readonly timings: Record<string, number>;
  /**
   * Per stage: tasks, the largest task's peak RSS (`peakRssScope` says whether that is the task's own process
   * or a process shared with other tasks), bytes read and written through the store, the longest task.
   * finalize's figures end where it writes this report. Absent in reports of older versions.
   */
  readonly stageMetrics?: Record<string, StageMetrics>;
  /** Runs that publish a dataset version: what changed against the previous version (versionChanges.ts). */
  readonly changes?: VersionChanges;
  /** Dataset runs over a previous version: the shards and kNN lists reused, the rows searched again. */
  readonly incremental?: IncrementalReport;
  readonly rejected: number;
  /** The first rejected rows (file, line, reason), at most 100. */
  readonly rejectedSample: { file: string; line: number; reason: string }[];
  readonly warnings: string[];
}
