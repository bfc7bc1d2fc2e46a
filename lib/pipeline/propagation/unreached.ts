import type { KnnResult } from '../../graph/knnSearch.ts';
import { type RowOutcome, SOURCE } from '../outputs/rowOutcome.ts';
import { isGraphMethod, type RunOptions } from '../runOptions.ts';

/** A fixed gamma that leaves more than this share of the rows unreached gets a warning naming --gamma auto. */
export const UNREACHED_WARNING_SHARE = 0.1;

/** Whether the method's graph has rbf weights (dense rbf, or rbf on kNN edges), and so a gamma. */
export function usesGamma(options: Pick<RunOptions, 'method' | 'kernel'>): boolean {
  return isGraphMethod(options.method) && (options.kernel === 'rbf' || options.kernel === 'knn-rbf');
}

/**
 * `--gamma auto`, the median heuristic: 1 / the median over rows of the squared distance to the k-th entry of
 * the row's kNN list (the row itself is the first, as in scikit-learn's knn graph), so a typical edge to the
 * k-th neighbour weighs e^-1 whatever the units of the features. Rows whose k-th distance is 0 (duplicates) are
 * left out of the median; with none left, 1.
 */
export function medianHeuristicGamma(lists: KnnResult): number {
  const kth: number[] = [];
  for (let i = 0; i < lists.n; i++) {
    const distance = lists.distances[i * lists.k + lists.k - 1];
    if (Number.isFinite(distance) && distance > 0) kth.push(distance);
  }
  if (kth.length === 0) return 1;
  kth.sort((a, b) => a - b);
  const middle = kth.length >> 1;
  const median = kth.length % 2 === 1 ? kth[middle] : (kth[middle - 1] + kth[middle]) / 2;
  return 1 / median;
}

/** Rows no label reached (source none) after a graph method. */
export function countUnreached(outcome: RowOutcome): number {
  let count = 0;
  for (const source of outcome.source) if (source === SOURCE.none) count++;
  return count;
}

/** What may connect unreached rows to a label: more neighbours, or an rbf width set from the data. */
export function unreachedHint(options: Pick<RunOptions, 'kernel' | 'neighbors' | 'gamma'>): string {
  const more = `--neighbors ${2 * options.neighbors}`;
  if (options.kernel === 'knn') return `try ${more}`;
  if (options.kernel === 'knn-rbf') return options.gamma === 'auto' ? `try ${more}` : `try --gamma auto or ${more}`;
  return options.gamma === 'auto' ? 'try --kernel knn or knn-rbf' : 'try --gamma auto or --kernel knn-rbf';
}

/** The warning for a fixed gamma that leaves many rows unreached, or undefined. */
export function gammaWarning(options: Pick<RunOptions, 'gamma'>, unreached: number, n: number): string | undefined {
  if (options.gamma === 'auto' || !(unreached > UNREACHED_WARNING_SHARE * n)) return undefined;
  return (
    `gamma=${options.gamma} left ${unreached.toLocaleString('en-US')} of ${n.toLocaleString('en-US')} rows ` +
    `(${((100 * unreached) / n).toFixed(1)}%) unreached: the rbf weights underflow at this width; --gamma auto ` +
    'sets it from the data (1 / median squared k-th neighbour distance)'
  );
}
