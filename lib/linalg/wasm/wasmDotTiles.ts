import type { RowData } from '../squaredDistances.ts';
import { entersList, offerTileRows, offerTopK } from '../topK.ts';
import { align16, instantiateKernels } from './kernelModule.ts';

/**
 * Host side of the WebAssembly SIMD distance kernel (dotKernel.wat): packs query rows in groups of 4 and
 * reference rows in panels of 8 (feature-major, Float32, zero padded), computes their norms with the same f32
 * sequence as the kernel's dot products (as rowNormsF32), and reads the f64 distance tile back. Results are
 * bit-identical to dotDistancesPacked (../dotDistances.ts). A row whose list has an empty slot is offered
 * whole by the module's offerRow (insertion in the module costs about 1.6 us per 630 entries against 2.7 us
 * in JS, at 10 neighbours). Each instance owns its linear memory, created at its final size (never grown,
 * see dotKernel.wat).
 */

const GROUP = 4;
const PANEL = 8;

interface DotKernelExports {
  readonly distances: (
    qPtr: number,
    qNormPtr: number,
    nGroups: number,
    rPtr: number,
    rNormPtr: number,
    nPanels: number,
    d: number,
    outPtr: number,
    boundPtr: number,
    maskPtr: number,
  ) => void;
  readonly offerRow: (rowPtr: number, n: number, refsPtr: number, dPtr: number, iPtr: number, k: number) => void;
  readonly panels: (src: number, n: number, width: number, lanes: number, dst: number) => void;
}

/** Longest list `offerRow` takes (longer ones are offered in JS, by offerTileRows). */
const MAX_OFFER_K = 64;

export class WasmDotTiles {
  /** The current distance tile: row i at i * stride (a view on the module's memory). */
  readonly tile: Float64Array;
  /** Row stride of `tile`: the reference rows rounded up to a whole panel. */
  stride = 0;
  private readonly d: number;
  private readonly exports: DotKernelExports;
  private readonly f32: Float32Array;
  private readonly f64: Float64Array;
  private readonly qPtr: number;
  private readonly qNormPtr: number;
  private readonly rPtr: number;
  private readonly rNormPtr: number;
  private readonly outPtr: number;
  private readonly boundPtr: number;
  private readonly maskPtr: number;
  private readonly refsPtr: number;
  private readonly listDPtr: number;
  private readonly listIPtr: number;
  /** Rows copied row-major for `panels` to lay out: room for the larger block. */
  private readonly stagePtr: number;
  private readonly i32: Int32Array;
  private readonly mask: Uint8Array;
  private readonly maxQuery: number;
  private readonly maxReference: number;
  private nGroups = 0;
  private nPanels = 0;
  private nQuery = 0;
  private nReference = 0;

  /** Room for tiles of up to `maxQuery` x `maxReference` rows of `d` features. */
  constructor(d: number, maxQuery: number, maxReference: number) {
    this.d = d;
    this.maxQuery = maxQuery;
    this.maxReference = maxReference;
    const qRows = Math.ceil(maxQuery / GROUP) * GROUP;
    const rRows = Math.ceil(maxReference / PANEL) * PANEL;
    this.qPtr = 0;
    this.qNormPtr = align16(this.qPtr + qRows * d * 4);
    this.rPtr = align16(this.qNormPtr + qRows * 8);
    this.rNormPtr = align16(this.rPtr + rRows * d * 4);
    this.outPtr = align16(this.rNormPtr + rRows * 8);
    this.boundPtr = align16(this.outPtr + qRows * rRows * 8);
    this.maskPtr = align16(this.boundPtr + qRows * 8);
    this.refsPtr = align16(this.maskPtr + qRows * (rRows / PANEL));
    this.listDPtr = align16(this.refsPtr + rRows * 4);
    this.listIPtr = align16(this.listDPtr + MAX_OFFER_K * 8);
    this.stagePtr = align16(this.listIPtr + MAX_OFFER_K * 4);
    const end = this.stagePtr + Math.max(qRows, rRows) * d * 4;
    const { exports, buffer } = instantiateKernels<DotKernelExports>(end);
    this.exports = exports;
    this.f32 = new Float32Array(buffer);
    this.f64 = new Float64Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.tile = new Float64Array(buffer, this.outPtr, qRows * rRows);
    this.mask = new Uint8Array(buffer, this.maskPtr, qRows * (rRows / PANEL));
    this.f64.fill(Number.POSITIVE_INFINITY, this.boundPtr >> 3, (this.boundPtr >> 3) + qRows);
  }

  /** Packs rows [start, end) of `src` as the query block. */
  setQuery(src: RowData, start: number, end: number): void {
    if (end - start > this.maxQuery)
      throw new RangeError(`query block holds ${this.maxQuery} rows, got ${end - start}`);
    this.nGroups = this.pack(src, null, start, end, GROUP, this.qPtr, this.qNormPtr);
    this.nQuery = end - start;
  }

  /** Packs rows rows[start], .., rows[end - 1] of `src` as the query block; `norms`: rowNormsOf(src), if known. */
  setQueryRows(src: RowData, rows: Int32Array, start: number, end: number, norms?: Float64Array): void {
    if (end - start > this.maxQuery)
      throw new RangeError(`query block holds ${this.maxQuery} rows, got ${end - start}`);
    this.nGroups = this.pack(src, rows, start, end, GROUP, this.qPtr, this.qNormPtr, norms);
    this.nQuery = end - start;
  }

  /** Packs rows [start, end) of `src` as the reference block; `norms`: rowNormsOf(src), if known. */
  setReference(src: RowData, start: number, end: number, norms?: Float64Array): void {
    if (end - start > this.maxReference) {
      throw new RangeError(`reference block holds ${this.maxReference} rows, got ${end - start}`);
    }
    this.nPanels = this.pack(src, null, start, end, PANEL, this.rPtr, this.rNormPtr, norms);
    this.stride = this.nPanels * PANEL;
    this.nReference = end - start;
  }

  /** tile[i * stride + j] = squared distance of query row i and reference row j (dot expansion, clamped). */
  compute(): void {
    const { qPtr, qNormPtr, nGroups, rPtr, rNormPtr, nPanels, d, outPtr, boundPtr, maskPtr } = this;
    this.exports.distances(qPtr, qNormPtr, nGroups, rPtr, rNormPtr, nPanels, d, outPtr, boundPtr, maskPtr);
  }

  /**
   * compute(), then offers the tile to lists as offerTileRows does, visiting only the entries the kernel
   * flagged as within each list's admission bound at the start of the tile (a superset of those admitted).
   */
  computeAndOffer(
    lists: Int32Array,
    references: Int32Array,
    k: number,
    distances: Float64Array,
    indices: Int32Array,
  ): void {
    const { f64, tile, mask, nPanels, stride, nQuery, nReference } = this;
    const boundBase = this.boundPtr >> 3;
    for (let i = 0; i < nQuery; i++) f64[boundBase + i] = distances[lists[i] * k + k - 1];
    this.compute();
    let referencesCopied = false;
    for (let i = 0; i < nQuery; i++) {
      const base = lists[i] * k;
      const last = base + k - 1;
      let bound = distances[last];
      let boundIndex = indices[last];
      const maskRow = i * nPanels;
      const row = i * stride;
      if (f64[boundBase + i] === Number.POSITIVE_INFINITY) {
        // Every entry was flagged (the list had an empty slot): the whole row, in the module when the list fits.
        if (k > MAX_OFFER_K) {
          const entries = tile.subarray(row, row + nReference);
          offerTileRows(entries, stride, 1, nReference, lists.subarray(i, i + 1), references, k, distances, indices);
          continue;
        }
        if (!referencesCopied) {
          this.i32.set(references.subarray(0, nReference), this.refsPtr >> 2);
          referencesCopied = true;
        }
        this.offerRow(row, base, k, distances, indices);
        continue;
      }
      for (let p = 0; p < nPanels; p++) {
        let bits = mask[maskRow + p];
        while (bits !== 0) {
          const lane = 31 - Math.clz32(bits & -bits);
          bits &= bits - 1;
          const j = p * PANEL + lane;
          if (j >= nReference) break;
          const v = tile[row + j];
          if (entersList(v, references[j], bound, boundIndex)) {
            bound = offerTopK(distances, indices, base, k, v, references[j]);
            boundIndex = indices[last];
          }
        }
      }
    }
  }

  /** Offers tile row `row` (an offset in `tile`) to the list at `base` through the module's offerRow. */
  private offerRow(row: number, base: number, k: number, distances: Float64Array, indices: Int32Array): void {
    const { f64, i32, listDPtr, listIPtr } = this;
    const d0 = listDPtr >> 3;
    const i0 = listIPtr >> 2;
    for (let s = 0; s < k; s++) {
      f64[d0 + s] = distances[base + s];
      i32[i0 + s] = indices[base + s];
    }
    this.exports.offerRow(this.outPtr + row * 8, this.nReference, this.refsPtr, listDPtr, listIPtr, k);
    for (let s = 0; s < k; s++) {
      distances[base + s] = f64[d0 + s];
      indices[base + s] = i32[i0 + s];
    }
  }

  /**
   * Rows start.. (or rows[start]..) as feature-major blocks of `width` rows, zero padded; returns the block count.
   * The rows are copied row-major into the module (one `set` when contiguous), which lays them out (`panels`).
   */
  private pack(
    src: RowData,
    rows: Int32Array | null,
    start: number,
    end: number,
    width: number,
    ptr: number,
    normPtr: number,
    norms?: Float64Array,
  ): number {
    const { d, f32, f64 } = this;
    const n = end - start;
    const blocks = Math.ceil(n / width);
    const stage = this.stagePtr >> 2;
    const normBase = normPtr >> 3;
    if (rows === null) f32.set(src.subarray(start * d, end * d), stage);
    else {
      for (let i = 0, o = stage; i < n; i++) {
        const from = rows[start + i] * d;
        for (let t = from; t < from + d; t++) f32[o++] = src[t];
      }
    }
    for (let i = 0; i < n; i++) {
      const index = rows === null ? start + i : rows[start + i];
      if (norms !== undefined) {
        f64[normBase + i] = norms[index];
        continue;
      }
      let s = 0;
      for (let t = stage + i * d; t < stage + (i + 1) * d; t++) s = Math.fround(s + Math.fround(f32[t] * f32[t]));
      f64[normBase + i] = s;
    }
    f64.fill(0, normBase + n, normBase + blocks * width);
    this.exports.panels(this.stagePtr, n, d, width, ptr);
    return blocks;
  }
}
