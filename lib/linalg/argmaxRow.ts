/**
 * The index of the largest value of row `row` of a row-major matrix with `k` columns; ties go to the first, as
 * numpy.argmax. NaN never wins: a NaN (a broken probability) is skipped, unlike numpy, which returns the first
 * NaN; a row that is all NaN gives 0. The one argmax of the project (class of a distribution, of a model's
 * probabilities, of a row's outcome), so every method and host picks the same class for the same row.
 */
export function argmaxRow(matrix: Float64Array, row: number, k: number): number {
  const base = row * k;
  let best = 0;
  let bestValue = Number.NaN;
  for (let c = 0; c < k; c++) {
    const value = matrix[base + c];
    if (value > bestValue || (Number.isNaN(bestValue) && !Number.isNaN(value))) {
      best = c;
      bestValue = value;
    }
  }
  return best;
}
