import { dotDistancesPacked, packRowsF32, rowNormsF32 } from './dotDistances.ts';
import { packRows, type RowData, squaredDistancesPacked } from './squaredDistances.ts';
import { offerTileRows } from './topK.ts';
import { wasmSimdAvailable } from './wasm/kernelModule.ts';
import { WasmDotTiles } from './wasm/wasmDotTiles.ts';

/**
 * Which squared-distance kernel fills the tiles of exact kNN:
 * - `direct`: sum of squared differences in double (squaredDistances.ts), the reference; exact 0 for equal rows.
 * - `dot`: |x|^2 + |y|^2 - 2 x.y over Float32 rows in plain JS (dotDistances.ts).
 * - `wasm`: the same values as `dot`, bit for bit, from the WebAssembly SIMD kernel (wasm/dotKernel.wat);
 *   falls back to `dot` where WebAssembly SIMD is unavailable, which cannot change a result.
 * Within one kernel a pair's value does not depend on tile sizes or positions, so neither do kNN lists.
 */
export type DistanceKernel = 'direct' | 'dot' | 'wasm';

export const DISTANCE_KERNELS: readonly DistanceKernel[] = ['direct', 'dot', 'wasm'];

/** A reusable pair of row blocks and the tile of their squared distances. */
export interface DistanceTiles {
  /** tile[i * stride + j]: query row i to reference row j, after `compute`. */
  readonly tile: Float64Array;
  /** Row stride of `tile` for the current reference block (at least its row count). */
  readonly stride: number;
  setQuery(src: RowData, start: number, end: number): void;
  /**
   * Packs rows rows[start], .., rows[end - 1] of `src` as the query block (a gather). `norms`, when given,
   * holds rowNormsOf(src) (dotDistances.ts), which the dot kernels then read instead of recomputing.
   */
  setQueryRows(src: RowData, rows: Int32Array, start: number, end: number, norms?: Float64Array): void;
  /** Packs rows [start, end) of `src` as the reference block; `norms[start..end)`: their rowNormsOf, if known. */
  setReference(src: RowData, start: number, end: number, norms?: Float64Array): void;
  compute(): void;
  /**
   * compute(), then offers entry (i, j) to top-k list `lists[i]` (topK.ts: slots lists[i]*k ..) as index
   * `references[j]`: the same lists as offering every entry, whatever the kernel skips.
   */
  computeAndOffer(
    lists: Int32Array,
    references: Int32Array,
    k: number,
    distances: Float64Array,
    indices: Int32Array,
  ): void;
}

/** dst row r = src row rows[start + r], for r < end - start (converted to dst's precision). */
function gatherRows(
  src: RowData,
  d: number,
  rows: Int32Array,
  start: number,
  end: number,
  dst: Float32Array | Float64Array,
): void {
  if ((end - start) * d > dst.length)
    throw new RangeError(`pack buffer holds ${dst.length} values, needs ${(end - start) * d}`);
  for (let r = start; r < end; r++) {
    const from = rows[r] * d;
    const to = (r - start) * d;
    for (let t = 0; t < d; t++) dst[to + t] = src[from + t];
  }
}

/** Tiles filled in JavaScript: compute() fills the whole tile, then every entry is offered (offerTileRows). */
abstract class HostTiles implements DistanceTiles {
  abstract readonly tile: Float64Array;
  stride = 0;
  protected nq = 0;

  constructor(protected readonly d: number) {}

  abstract setQuery(src: RowData, start: number, end: number): void;
  abstract setQueryRows(src: RowData, rows: Int32Array, start: number, end: number, norms?: Float64Array): void;
  abstract setReference(src: RowData, start: number, end: number, norms?: Float64Array): void;
  abstract compute(): void;

  computeAndOffer(
    lists: Int32Array,
    references: Int32Array,
    k: number,
    distances: Float64Array,
    indices: Int32Array,
  ): void {
    this.compute();
    offerTileRows(this.tile, this.stride, this.nq, this.stride, lists, references, k, distances, indices);
  }
}

class DirectTiles extends HostTiles {
  readonly tile: Float64Array;
  private readonly q: Float64Array;
  private readonly r: Float64Array;

  constructor(d: number, maxQuery: number, maxReference: number) {
    super(d);
    this.q = new Float64Array(maxQuery * d);
    this.r = new Float64Array(maxReference * d);
    this.tile = new Float64Array(maxQuery * maxReference);
  }

  setQuery(src: RowData, start: number, end: number): void {
    packRows(src, this.d, start, end, this.q);
    this.nq = end - start;
  }

  setQueryRows(src: RowData, rows: Int32Array, start: number, end: number): void {
    gatherRows(src, this.d, rows, start, end, this.q);
    this.nq = end - start;
  }

  setReference(src: RowData, start: number, end: number): void {
    packRows(src, this.d, start, end, this.r);
    this.stride = end - start;
  }

  compute(): void {
    squaredDistancesPacked(this.q, this.nq, this.r, this.stride, this.d, this.tile);
  }
}

class DotTiles extends HostTiles {
  readonly tile: Float64Array;
  private readonly q: Float32Array;
  private readonly r: Float32Array;
  private readonly qNorms: Float64Array;
  private readonly rNorms: Float64Array;

  constructor(d: number, maxQuery: number, maxReference: number) {
    super(d);
    this.q = new Float32Array(maxQuery * d);
    this.r = new Float32Array(maxReference * d);
    this.qNorms = new Float64Array(maxQuery);
    this.rNorms = new Float64Array(maxReference);
    this.tile = new Float64Array(maxQuery * maxReference);
  }

  setQuery(src: RowData, start: number, end: number): void {
    packRowsF32(src, this.d, start, end, this.q);
    this.nq = end - start;
    rowNormsF32(this.q, this.nq, this.d, this.qNorms);
  }

  setQueryRows(src: RowData, rows: Int32Array, start: number, end: number, norms?: Float64Array): void {
    gatherRows(src, this.d, rows, start, end, this.q);
    this.nq = end - start;
    if (norms === undefined) rowNormsF32(this.q, this.nq, this.d, this.qNorms);
    else for (let r = start; r < end; r++) this.qNorms[r - start] = norms[rows[r]];
  }

  setReference(src: RowData, start: number, end: number, norms?: Float64Array): void {
    packRowsF32(src, this.d, start, end, this.r);
    this.stride = end - start;
    if (norms === undefined) rowNormsF32(this.r, this.stride, this.d, this.rNorms);
    else this.rNorms.set(norms.subarray(start, end));
  }

  compute(): void {
    const { q, qNorms, nq, r, rNorms, stride, d, tile } = this;
    dotDistancesPacked(q, qNorms, nq, r, rNorms, stride, d, tile, stride);
  }
}

/** Tiles of up to `maxQuery` x `maxReference` rows of `d` features for the given kernel. */
export function distanceTiles(
  kernel: DistanceKernel,
  d: number,
  maxQuery: number,
  maxReference: number,
): DistanceTiles {
  switch (kernel) {
    case 'direct':
      return new DirectTiles(d, maxQuery, maxReference);
    case 'dot':
      return new DotTiles(d, maxQuery, maxReference);
    case 'wasm':
      return wasmSimdAvailable()
        ? new WasmDotTiles(d, maxQuery, maxReference)
        : new DotTiles(d, maxQuery, maxReference);
    default:
      throw new RangeError(
        `unknown distance kernel '${kernel as string}', expected one of ${DISTANCE_KERNELS.join(', ')}`,
      );
  }
}
