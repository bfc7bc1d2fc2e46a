/**
 * A dense feature matrix in row-major order: row i is data[i*d, (i+1)*d).
 * Float32Array is the storage format of shards; Float64Array is accepted where callers already hold doubles.
 */
export interface FeatureMatrix {
  readonly data: Float32Array | Float64Array;
  readonly n: number;
  readonly d: number;
}

export function featureMatrix(data: Float32Array | Float64Array, n: number, d: number): FeatureMatrix {
  if (data.length !== n * d) throw new RangeError(`feature matrix needs ${n}x${d}=${n * d} values, got ${data.length}`);
  return { data, n, d };
}

/** Builds a FeatureMatrix from nested arrays (tests, fixtures, small inputs). */
export function fromRows(rows: ArrayLike<ArrayLike<number>>, storage: 'f32' | 'f64' = 'f64'): FeatureMatrix {
  const n = rows.length;
  const d = n === 0 ? 0 : rows[0].length;
  const data = storage === 'f32' ? new Float32Array(n * d) : new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const row = rows[i];
    if (row.length !== d) throw new RangeError(`row ${i} has ${row.length} values, expected ${d}`);
    for (let j = 0; j < d; j++) data[i * d + j] = row[j];
  }
  return { data, n, d };
}

/** Selects the given columns of every row (co-training views). */
export function selectColumns(X: FeatureMatrix, columns: readonly number[]): FeatureMatrix {
  const d = columns.length;
  const data = new Float64Array(X.n * d);
  for (let i = 0; i < X.n; i++) {
    for (let j = 0; j < d; j++) data[i * d + j] = X.data[i * X.d + columns[j]];
  }
  return { data, n: X.n, d };
}

/** Selects the given rows. */
export function selectRows(X: FeatureMatrix, rows: ArrayLike<number>): FeatureMatrix {
  const data = new Float64Array(rows.length * X.d);
  for (let r = 0; r < rows.length; r++) {
    const src = rows[r] * X.d;
    for (let j = 0; j < X.d; j++) data[r * X.d + j] = X.data[src + j];
  }
  return { data, n: rows.length, d: X.d };
}
