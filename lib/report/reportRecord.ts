import type { Source } from '../data/labelSource.ts';

/**
 * What report.html shows of a run: the fields of report.json it reads, as plain records. The report owns this
 * type, so it imports nothing from the pipeline; the pipeline's RunReport (lib/pipeline/outputs/runReport.ts) is
 * one, which TypeScript checks where finalize renders it.
 */
export interface ReportRecord {
  readonly runId: string;
  readonly method: string;
  readonly methodReason?: string;
  /** `--method auto`: the settings tried, best first. */
  readonly auto?: { readonly candidates: readonly ReportCandidate[] };
  /** The options as the method ran them. */
  readonly parameters: { readonly threshold: number; readonly tol: number } & Readonly<Record<string, unknown>>;
  readonly n: number;
  readonly d: number;
  readonly classes: readonly string[];
  readonly given: number;
  readonly rounds: readonly ReportRound[];
  readonly convergence: {
    readonly nIter: number;
    readonly converged: boolean;
    readonly terminationReason: string;
    readonly finalDelta: number | null;
    readonly deltas: readonly number[];
  };
  readonly holdout?: ReportHoldout;
  readonly changes?: ReportChanges;
  /** Milliseconds per stage. */
  readonly timings: Readonly<Record<string, number>>;
  readonly rejected: number;
  readonly rejectedSample: readonly { readonly file: string; readonly line: number; readonly reason: string }[];
  readonly warnings: readonly string[];
}

export interface ReportCandidate {
  readonly method: string;
  readonly scale: string;
  readonly neighbors?: number;
  readonly alpha?: number;
  /** Mean cross-validated accuracy, and its spread over the repeats. */
  readonly score: number;
  readonly spread: number;
  /** Mean cross-validated Brier score (lower is better; what auto ranks by). Absent in reports before it. */
  readonly brier?: number;
  /**
   * Paired difference from the fallback (self-training, standardised) on the same labels, in Brier score (the
   * fallback's minus this setting's: positive is better; reports before it: in accuracy); absent for the fallback.
   */
  readonly versusFallback?: { readonly difference: number; readonly standardError: number };
  /** Paired difference from the best-ranked candidate (its Brier minus this one's); absent for the best itself. */
  readonly versusBest?: { readonly difference: number; readonly standardError: number };
  /** Share of the unlabelled rows where its label is the consensus of all candidates (breaks ties at the top). */
  readonly agreement?: number;
}

/** One round: rows per class by source after it, and the confidence histogram (20 bins over [0, 1]). */
export interface ReportRound {
  readonly round: number;
  readonly counts: Readonly<Partial<Record<Source, Readonly<Record<string, number>>>>>;
  readonly confidenceHistogram: readonly number[];
}

interface ReportMetrics {
  readonly accuracy: number;
  readonly macroF1: number;
}

/** `--holdout`: supervised only against semi-supervised on the held-out given labels. */
export interface ReportHoldout {
  readonly supervised: ReportMetrics;
  readonly semiSupervised: ReportMetrics;
  readonly given: number;
  readonly size: number;
  readonly fraction: number;
  readonly rows: number;
  readonly verdict: 'helped' | 'did not help' | 'cannot tell';
  readonly givenLabelsNeeded?: number;
  readonly difference: {
    readonly estimate: number;
    readonly low: number;
    readonly high: number;
    readonly method: string;
    readonly splits: readonly number[];
  };
}

/** A published dataset version against the previous one. */
export interface ReportChanges {
  readonly previousVersion?: number;
  readonly previousRunId?: string;
  readonly added: number;
  readonly removed: number;
  readonly changedClass: number;
  readonly transitions: readonly { readonly from: string | null; readonly to: string | null; readonly rows: number }[];
  readonly confidenceShift: { readonly mean: number; readonly histogram: readonly number[] };
}
