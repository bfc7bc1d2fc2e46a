import { CapacityError } from '../errors.ts';

/**
 * Refusal to build a dense n x n kernel that would not fit the memory bound (scikit-learn would try and
 * exhaust memory). The sparse 'knn' kernel (or 'knn-rbf') scales to large n.
 */
export class DenseKernelTooLargeError extends CapacityError {
  override readonly name = 'DenseKernelTooLargeError';
  constructor(
    readonly n: number,
    readonly bytes: number,
    readonly maxN: number,
    readonly maxBytes: number,
  ) {
    super(
      `dense rbf kernel for n=${n} points needs ${formatBytes(bytes)} (limits: n <= ${maxN}, ` +
        `${formatBytes(maxBytes)}); use kernel 'knn' (or 'knn-rbf') for large inputs`,
    );
  }
}

function formatBytes(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
