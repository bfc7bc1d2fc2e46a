import { type DistanceTiles, distanceTiles } from './distanceTiles.ts';
import { candidateBound, type Int16Codes } from './int16Codes.ts';
import type { RowData } from './squaredDistances.ts';
import { entersList, offerTopK } from './topK.ts';
import { align16, instantiateKernels, wasmSimdAvailable } from './wasm/kernelModule.ts';

/**
 * Top-k search tiles that skip, with a cheap 16-bit filter, the pairs that cannot enter a list, and compute the
 * rest exactly. The lists are the same, bit for bit, as offering every pair of the 'wasm' kernel
 * (distanceTiles.ts):
 * - rows whose list is full go through the `candidates` kernel (wasm/dotKernel.wat) on the rows' 16-bit codes
 *   (int16Codes.ts), twice the f32 kernel's multiply-adds per instruction, against each list's bound widened by
 *   the coding and rounding error (candidateBound); the flagged pairs then get their f32 distance from
 *   `exactPanels` (the f32 kernel's own sequence) and are offered. The filter flags a superset of the pairs
 *   the f32 kernel would admit.
 * - rows whose list still has an empty slot (bound +Infinity, every pair a candidate) take the f32 kernel
 *   itself, as do all rows without codes or without WebAssembly SIMD.
 * The caller passes each block twice: as Float32 rows (for the exact distances) and as code words.
 */
export class CandidateTiles {
  private readonly exact: DistanceTiles;
  private readonly filter: CodeFilter | undefined;
  private referenceRows: RowData = new Float32Array(0);
  private referenceNorms: Float64Array = new Float64Array(0);
  private nReference = 0;
  private maxReferenceNorm = 0;
  private exactHasReference = false;
  /** The blocks' code words, packed into the filter on first use (a block whose rows all take the f32 kernel never is). */
  private referenceWords: Int32Array | undefined;
  private filterHasReference = false;
  private queryWords: Int32Array | undefined;
  private filterHasQuery = false;
  private queryData: RowData = new Float32Array(0);
  private queryRows: Int32Array = new Int32Array(0);
  private queryNorms: Float64Array = new Float64Array(0);
  private queryStart = 0;
  private nQuery = 0;
  /** The lists and query rows of the current tile that take the f32 kernel. */
  private readonly openLists: Int32Array;
  private readonly openRows: Int32Array;

  /** Room for tiles of up to `maxQuery` x `maxReference` rows of `d` features; `codes` enable the filter. */
  constructor(d: number, maxQuery: number, maxReference: number, codes: Int16Codes | undefined) {
    this.exact = distanceTiles('wasm', d, maxQuery, maxReference);
    this.openLists = new Int32Array(maxQuery);
    this.openRows = new Int32Array(maxQuery);
    this.filter =
      codes !== undefined && wasmSimdAvailable() ? new CodeFilter(codes, maxQuery, maxReference) : undefined;
  }

  /** The reference block: `count` rows (row-major), their code words (`codes.pairs` per row) and f32 norms. */
  setReference(rows: RowData, words: Int32Array | undefined, count: number, norms: Float64Array): void {
    this.referenceRows = rows;
    this.referenceNorms = norms;
    this.nReference = count;
    this.exactHasReference = false;
    let largest = 0;
    for (let j = 0; j < count; j++) largest = Math.max(largest, norms[j]);
    this.maxReferenceNorm = largest;
    this.referenceWords = words;
    this.filterHasReference = false;
  }

  /**
   * The query block: rows rows[start..end) of `data`, whose code words are `words` (`codes.pairs` per row of
   * `data`) and f32 norms `norms` (rowNormsOf(data)).
   */
  setQueryRows(
    data: RowData,
    words: Int32Array | undefined,
    rows: Int32Array,
    start: number,
    end: number,
    norms: Float64Array,
  ): void {
    this.queryData = data;
    this.queryRows = rows;
    this.queryStart = start;
    this.nQuery = end - start;
    this.queryNorms = norms;
    this.queryWords = words;
    this.filterHasQuery = false;
  }

  /** Offers pair (i, j) to list lists[i] as index references[j] (topK.ts), as DistanceTiles.computeAndOffer. */
  computeAndOffer(
    lists: Int32Array,
    references: Int32Array,
    k: number,
    distances: Float64Array,
    indices: Int32Array,
  ): void {
    const { filter, nQuery, queryRows, queryStart, queryNorms, referenceWords, queryWords } = this;
    if (filter === undefined || referenceWords === undefined || queryWords === undefined) {
      this.offerExactly(lists, queryRows.subarray(queryStart, queryStart + nQuery), references, k, distances, indices);
      return;
    }
    // Rows whose list still has an empty slot admit every pair: they take the f32 kernel.
    const { openLists, openRows } = this;
    let open = 0;
    for (let i = 0; i < nQuery; i++) {
      if (distances[lists[i] * k + k - 1] !== Number.POSITIVE_INFINITY) continue;
      openLists[open] = lists[i];
      openRows[open++] = queryRows[queryStart + i];
    }
    if (open < nQuery) {
      if (!this.filterHasReference) {
        filter.setReference(referenceWords, this.referenceRows, this.referenceNorms, this.nReference);
        this.filterHasReference = true;
      }
      if (!this.filterHasQuery) {
        filter.setQueryRows(queryWords, this.queryData, queryRows, queryStart, queryStart + nQuery, queryNorms);
        this.filterHasQuery = true;
      }
      for (let i = 0; i < nQuery; i++) {
        const bound = distances[lists[i] * k + k - 1];
        if (bound === Number.POSITIVE_INFINITY) filter.closeRow(i);
        else filter.setBound(i, bound, queryNorms[queryRows[queryStart + i]], this.maxReferenceNorm);
      }
      this.offerFlagged(filter, lists, references, k, distances, indices);
    }
    if (open > 0) {
      this.offerExactly(openLists.subarray(0, open), openRows.subarray(0, open), references, k, distances, indices);
    }
  }

  /** Runs the filter and offers its flagged pairs with their f32 distances. */
  private offerFlagged(
    filter: CodeFilter,
    lists: Int32Array,
    references: Int32Array,
    k: number,
    distances: Float64Array,
    indices: Int32Array,
  ): void {
    const count = filter.candidates();
    const { flagged, exactDistances, panels } = filter;
    const { nReference } = this;
    for (let e = 0; e < count; e++) {
      const entry = flagged[e];
      const cell = entry >>> 8;
      const i = (cell / panels) | 0;
      const first = (cell - i * panels) * PANEL;
      const base = lists[i] * k;
      const last = base + k - 1;
      let bound = distances[last];
      let boundIndex = indices[last];
      let bits = entry & 0xff;
      while (bits !== 0) {
        const lane = 31 - Math.clz32(bits & -bits);
        bits &= bits - 1;
        const j = first + lane;
        if (j >= nReference) break;
        const v = exactDistances[e * PANEL + lane];
        if (entersList(v, references[j], bound, boundIndex)) {
          bound = offerTopK(distances, indices, base, k, v, references[j]);
          boundIndex = indices[last];
        }
      }
    }
  }

  /** The f32 kernel's offers for the query rows `rows` (of the query data) into `lists`. */
  private offerExactly(
    lists: Int32Array,
    rows: Int32Array,
    references: Int32Array,
    k: number,
    distances: Float64Array,
    indices: Int32Array,
  ): void {
    const { exact } = this;
    if (!this.exactHasReference) {
      exact.setReference(this.referenceRows, 0, this.nReference, this.referenceNorms);
      this.exactHasReference = true;
    }
    exact.setQueryRows(this.queryData, rows, 0, rows.length, this.queryNorms);
    exact.computeAndOffer(lists, references, k, distances, indices);
  }
}

const GROUP = 4;
const PANEL = 8;

interface CandidateKernelExports {
  readonly candidates: (
    qPtr: number,
    nGroups: number,
    rPtr: number,
    rNormPtr: number,
    nPanels: number,
    pairs: number,
    boundPtr: number,
    outPtr: number,
  ) => number;
  readonly exactPanels: (
    entriesPtr: number,
    count: number,
    qPtr: number,
    qNormPtr: number,
    rPtr: number,
    rNormPtr: number,
    nPanels: number,
    d: number,
    outPtr: number,
  ) => void;
  readonly panels: (src: number, n: number, width: number, lanes: number, dst: number) => void;
  readonly codeNorms: (src: number, n: number, pairs: number, dst: number) => void;
}

/**
 * The memory of the `candidates` and `exactPanels` kernels (see dotKernel.wat): both blocks as code words
 * (query groups of 4, reference panels of 8) and as Float32 rows (query rows row-major, reference panels), the
 * flagged entries and their f32 distances.
 */
class CodeFilter {
  panels = 0;
  /** The kernel's flagged (row, panel)s: ((i * panels + p) << 8) | mask (see dotKernel.wat). */
  readonly flagged: Int32Array;
  /** Entry e's 8 f32 distances at e * 8 (after `candidates`). */
  readonly exactDistances: Float64Array;
  private readonly codes: Int16Codes;
  private readonly d: number;
  private readonly exports: CandidateKernelExports;
  private readonly i32: Int32Array;
  private readonly f32: Float32Array;
  private readonly f64: Float64Array;
  private readonly qWordPtr: number;
  private readonly rWordPtr: number;
  private readonly rCodeNormPtr: number;
  private readonly boundPtr: number;
  private readonly flaggedPtr: number;
  private readonly qRowPtr: number;
  private readonly qNormPtr: number;
  private readonly rPanelPtr: number;
  private readonly rNormPtr: number;
  private readonly exactPtr: number;
  /** Rows copied row-major (code words, then Float32 rows) for `panels` to lay out. */
  private readonly stagePtr: number;
  /** The query rows' sums of squared codes (i32, in the module). */
  private readonly qCodeNormPtr: number;
  /** The query block, whose Float32 rows are copied only when a pair of theirs is flagged. */
  private queryData: RowData = new Float32Array(0);
  private queryRows: Int32Array = new Int32Array(0);
  private queryStart = 0;
  private queryNorms: Float64Array = new Float64Array(0);
  private readonly queryRowCopied: Uint8Array;
  private readonly maxQuery: number;
  private readonly maxReference: number;
  private groups = 0;

  constructor(codes: Int16Codes, maxQuery: number, maxReference: number) {
    const { pairs, d } = codes;
    this.codes = codes;
    this.d = d;
    this.maxQuery = maxQuery;
    this.maxReference = maxReference;
    const qRows = Math.ceil(maxQuery / GROUP) * GROUP;
    const rRows = Math.ceil(maxReference / PANEL) * PANEL;
    const cells = qRows * (rRows / PANEL);
    if (cells > 2 ** 23) throw new RangeError(`tiles of ${qRows} x ${rRows} rows are too large for the filter`);
    this.qWordPtr = 0;
    this.rWordPtr = align16(qRows * pairs * 4);
    this.rCodeNormPtr = align16(this.rWordPtr + rRows * pairs * 4);
    this.boundPtr = align16(this.rCodeNormPtr + rRows * 4);
    this.flaggedPtr = align16(this.boundPtr + qRows * 4);
    this.qRowPtr = align16(this.flaggedPtr + cells * 4);
    this.qNormPtr = align16(this.qRowPtr + qRows * d * 4);
    this.rPanelPtr = align16(this.qNormPtr + qRows * 8);
    this.rNormPtr = align16(this.rPanelPtr + rRows * d * 4);
    this.exactPtr = align16(this.rNormPtr + rRows * 8);
    this.qCodeNormPtr = align16(this.exactPtr + cells * PANEL * 8);
    this.stagePtr = align16(this.qCodeNormPtr + qRows * 4);
    const stageBytes = Math.max(qRows, rRows) * Math.max(d, pairs) * 4;
    const { exports, buffer } = instantiateKernels<CandidateKernelExports>(this.stagePtr + stageBytes);
    this.exports = exports;
    this.i32 = new Int32Array(buffer);
    this.f32 = new Float32Array(buffer);
    this.f64 = new Float64Array(buffer);
    this.flagged = new Int32Array(buffer, this.flaggedPtr, cells);
    this.exactDistances = new Float64Array(buffer, this.exactPtr, cells * PANEL);
    this.queryRowCopied = new Uint8Array(qRows);
  }

  /** Packs `count` reference rows: code words (row-major) and Float32 rows with their f32 norms, in panels of 8. */
  setReference(words: Int32Array, rows: RowData, norms: Float64Array, count: number): void {
    if (count > this.maxReference) throw new RangeError(`reference block holds ${this.maxReference} rows`);
    const { i32, f32, f64, d, exports, stagePtr } = this;
    const { pairs } = this.codes;
    this.panels = Math.ceil(count / PANEL);
    const padded = this.panels * PANEL;
    i32.set(words.subarray(0, count * pairs), stagePtr >> 2);
    exports.codeNorms(stagePtr, count, pairs, this.rCodeNormPtr);
    i32.fill(0, (this.rCodeNormPtr >> 2) + count, (this.rCodeNormPtr >> 2) + padded);
    exports.panels(stagePtr, count, pairs, PANEL, this.rWordPtr);
    f32.set(rows.subarray(0, count * d), stagePtr >> 2);
    exports.panels(stagePtr, count, d, PANEL, this.rPanelPtr);
    const normBase = this.rNormPtr >> 3;
    f64.set(norms.subarray(0, count), normBase);
    f64.fill(0, normBase + count, normBase + padded);
  }

  /**
   * Packs query rows rows[start..end): their code words (`words`, row-major over all rows) in groups of 4,
   * and their Float32 rows (of `data`) and norms (`norms`, over all rows) row-major.
   */
  setQueryRows(
    words: Int32Array,
    data: RowData,
    rows: Int32Array,
    start: number,
    end: number,
    norms: Float64Array,
  ): void {
    if (end - start > this.maxQuery) throw new RangeError(`query block holds ${this.maxQuery} rows`);
    const { i32, exports, stagePtr } = this;
    const { pairs } = this.codes;
    const n = end - start;
    this.groups = Math.ceil(n / GROUP);
    const stage = stagePtr >> 2;
    for (let i = 0, o = stage; i < n; i++) {
      const from = rows[start + i] * pairs;
      for (let u = from; u < from + pairs; u++) i32[o++] = words[u];
    }
    exports.codeNorms(stagePtr, n, pairs, this.qCodeNormPtr);
    exports.panels(stagePtr, n, pairs, GROUP, this.qWordPtr);
    // The padding rows of the last group flag nothing (their bounds would be a previous block's).
    for (let i = n; i < this.groups * GROUP; i++) this.closeRow(i);
    this.queryData = data;
    this.queryRows = rows;
    this.queryStart = start;
    this.queryNorms = norms;
    this.queryRowCopied.fill(0);
  }

  /** Copies the Float32 row and norm of query row i for exactPanels, once per query block. */
  private copyQueryRow(i: number): void {
    if (this.queryRowCopied[i] === 1) return;
    this.queryRowCopied[i] = 1;
    const { f32, d, queryData } = this;
    const row = this.queryRows[this.queryStart + i];
    const rowBase = (this.qRowPtr >> 2) + i * d;
    for (let t = 0; t < d; t++) f32[rowBase + t] = queryData[row * d + t];
    this.f64[(this.qNormPtr >> 3) + i] = this.queryNorms[row];
  }

  /** Query row i's bound: its list's admission bound (finite), its f32 norm, the block's largest f32 norm. */
  setBound(i: number, bound: number, qNorm: number, maxReferenceNorm: number): void {
    const limit = candidateBound(this.codes, bound, qNorm, maxReferenceNorm, this.i32[(this.qCodeNormPtr >> 2) + i]);
    this.i32[(this.boundPtr >> 2) + i] = limit;
  }

  /** Query row i flags nothing (its bound lies below every value the kernel can compute). */
  closeRow(i: number): void {
    this.i32[(this.boundPtr >> 2) + i] = -(2 ** 31);
  }

  /** Runs the filter, then the f32 distances of what it flagged; returns the number of `flagged` entries. */
  candidates(): number {
    const { exports, groups, panels, boundPtr, flaggedPtr } = this;
    const { pairs } = this.codes;
    const count = exports.candidates(
      this.qWordPtr,
      groups,
      this.rWordPtr,
      this.rCodeNormPtr,
      panels,
      pairs,
      boundPtr,
      flaggedPtr,
    );
    const { flagged } = this;
    for (let e = 0; e < count; e++) this.copyQueryRow(((flagged[e] >>> 8) / panels) | 0);
    exports.exactPanels(
      flaggedPtr,
      count,
      this.qRowPtr,
      this.qNormPtr,
      this.rPanelPtr,
      this.rNormPtr,
      panels,
      this.d,
      this.exactPtr,
    );
    return count;
  }
}
