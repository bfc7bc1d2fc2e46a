import type { ObjectStore } from '../../adapters/objectStore.ts';
import type { FeatureMatrix } from '../../data/featureMatrix.ts';
import type { CellRanges } from '../../graph/ivf/cellRanges.ts';
import { decodeIvfModel, encodeIvfModel, type IvfModel } from '../../graph/ivf/ivfModel.ts';
import type { CalibrationLists } from '../../graph/ivf/nprobeCalibration.ts';
import type { KnnResult } from '../../graph/knnSearch.ts';
import { rowNormsOf } from '../../linalg/dotDistances.ts';
import { codesFromArray, codesToArray, encodeRows, type Int16Codes } from '../../linalg/int16Codes.ts';
import { packArrays, packedDataStart, unpackArrays, unpackLeading } from '../binaryArrays.ts';
import { mapConcurrently } from '../concurrentRequests.ts';
import { keys } from '../keys.ts';
import type { StageContext } from '../stageContext.ts';

/**
 * The objects of approximate neighbour search (IVF) between its steps: collect makes the run's 16-bit codes
 * (codes.bin), each sample task writes its shard's sample rows and calibration queries (sample.bin), the train
 * step trains the centroids on them and splits the cells into cell ranges (cellRanges.ts) (training.bin); each
 * cells task writes its shard's rows grouped by cell, one object per cell range
 * (ranges/<r>/<shard>/cells.bin, with their code words and nearest cells) and its part of the calibration
 * (calibration.bin); calibrate writes the model with its nprobe, the size of every cell, the ranges and the
 * codes (model.bin); each shard's probes task routes its rows as queries to the ranges they probe
 * (routedQueries.ts), the neighbors task of range r reads its range's cells objects whole and searches the
 * queries among them (partial lists, merged by each shard's gather task, which writes the lists by range,
 * ranges/<r>/<shard>/neighbors.bin, where they are read so). An incremental run's range task reads instead, of the
 * other ranges, the members of the cells its queries probe (readProbedCells, by each object's cell index).
 */
export interface IvfTrainingObject {
  readonly model: IvfModel;
  readonly queries: FeatureMatrix;
  /**
   * The run's 16-bit codes, covering every row (int16Codes over all shards): each cells task codes its members
   * once, and every search uses these words instead of coding all the cells again. Absent where the data have
   * no codes (a value that is not finite) or the runtime no WebAssembly SIMD.
   */
  readonly codes?: Int16Codes;
  /** The cell ranges the cells tasks write their rows by, and the neighbors tasks are planned by. */
  readonly ranges: CellRanges;
}

/** Optional codes as an array of an object: empty when absent. */
function codesSection(codes: Int16Codes | undefined): Float32Array {
  return codes === undefined ? new Float32Array(0) : codesToArray(codes);
}

/** The `codes` property codesSection stored, or none. */
function codesOf(section: Float32Array): { codes?: Int16Codes } {
  return section.length > 0 ? { codes: codesFromArray(section) } : {};
}

export async function writeIvfTraining(ctx: StageContext, runId: string, training: IvfTrainingObject): Promise<void> {
  await ctx.store.put(
    keys.ivfTraining(runId),
    packArrays([
      encodeIvfModel(training.model),
      training.queries.data,
      codesSection(training.codes),
      training.ranges.rangeOf,
    ]),
  );
}

/** The run's 16-bit codes (none: an empty section), from collect to the train step. */
export async function writeIvfCodes(ctx: StageContext, runId: string, codes: Int16Codes | undefined): Promise<void> {
  await ctx.store.put(keys.ivfCodes(runId), packArrays([codesSection(codes)]));
}

export async function readIvfCodes(ctx: StageContext, runId: string): Promise<Int16Codes | undefined> {
  const [section] = unpackArrays(await ctx.store.get(keys.ivfCodes(runId)));
  return codesOf(section as Float32Array).codes;
}

/** A shard's rows of the IVF training sample and of the calibration queries, in global index order. */
export interface ShardSample {
  readonly sample: FeatureMatrix;
  readonly queries: FeatureMatrix;
}

export async function writeShardSample(ctx: StageContext, runId: string, shard: number, part: ShardSample) {
  await ctx.store.put(keys.shardSample(runId, shard), packArrays([part.sample.data, part.queries.data]));
}

export async function readShardSample(
  ctx: StageContext,
  runId: string,
  shard: number,
  d: number,
): Promise<ShardSample> {
  const [sample, queries] = unpackArrays(await ctx.store.get(keys.shardSample(runId, shard))) as Float32Array[];
  return {
    sample: { data: sample, n: d === 0 ? 0 : sample.length / d, d },
    queries: { data: queries, n: d === 0 ? 0 : queries.length / d, d },
  };
}

/** Ranges from each cell's range: every range holds a cell, so there are max + 1 of them. */
function rangesOf(rangeOf: Int32Array): CellRanges {
  let count = 0;
  for (const range of rangeOf) count = Math.max(count, range + 1);
  return { count, rangeOf };
}

export function readIvfTraining(ctx: StageContext, runId: string): Promise<IvfTrainingObject> {
  return readIvfTrainingObject(ctx.store, keys.ivfTraining(runId));
}

/** An IVF training object by its key (a run's, or a dataset version's index: predict). */
export async function readIvfTrainingObject(store: ObjectStore, key: string): Promise<IvfTrainingObject> {
  const [model, queries, codes, rangeOf] = unpackArrays(await store.get(key));
  const decoded = decodeIvfModel(model as Float32Array);
  return {
    model: decoded,
    queries: { data: queries as Float32Array, n: queries.length / decoded.d, d: decoded.d },
    ...codesOf(codes as Float32Array),
    ranges: rangesOf(rangeOf as Int32Array),
  };
}

/**
 * One shard's rows in the cells of one cell range, grouped by cell (the range's cells ascending): their global
 * indices (ascending within a cell), vectors, norms, code words under the run's codes (empty without codes) and
 * each row's `nearestWidth` nearest cells (nearestCells, the start of its probe list as a query).
 */
export interface RangeCellsPart {
  /** Entries of the range's i-th cell: offsets[i] .. offsets[i + 1]. */
  readonly offsets: Int32Array;
  readonly members: Int32Array;
  readonly vectors: Float32Array;
  readonly norms: Float64Array;
  readonly words: Int32Array;
  readonly nearestWidth: number;
  readonly nearest: Int32Array;
}

/*
 * A cells object is packed arrays: [CELLS_FORMAT, nearestWidth, d], the cell offsets (the range's cells + 1: its
 * index), the rows as records, and the rows' nearest cells. A row's record holds its global index (i32), its
 * squared norm (f32: rowNormsOf's values are Float32 sums, so the f32 holds them exactly) and vector (d x f32);
 * the records of a cell, and of adjacent cells, are one run of bytes, so that a neighbors task reads the members
 * of the cells it probes with a ranged GET per run of adjacent probed cells (readProbedCells), after the index,
 * instead of the whole object. The code words are not stored: the reader computes them from the vectors
 * (encodeRows under the run's codes), the same values bit for bit as the cells task's (d = 64: 264 bytes a row
 * instead of 400). Format 2 objects (a version kept before norms were stored: 4 bytes a row less) are read too,
 * their norms computed (rowNormsOf): computing them took 0.5 s of an incremental run's neighbors stage at
 * 1M + 10% rows, which reads every probed cell's rows.
 */
const CELLS_FORMAT = 3;
/** The format without norms, still read. */
const CELLS_FORMAT_WITHOUT_NORMS = 2;

const readableFormat = (format: number) => format === CELLS_FORMAT || format === CELLS_FORMAT_WITHOUT_NORMS;

function recordBytes(d: number, format: number): number {
  return 4 * (d + (format === CELLS_FORMAT_WITHOUT_NORMS ? 1 : 2));
}

/** Leading arrays of a cells object before its records, of a range of `cells` cells: their byte lengths. */
function indexByteLengths(cells: number): number[] {
  return [3 * 4, (cells + 1) * 4];
}

function encodeRecords(members: Int32Array, norms: Float64Array, vectors: Float32Array, d: number): Uint8Array {
  const stride = 2 + d;
  const buffer = new ArrayBuffer(members.length * stride * 4);
  const i32 = new Int32Array(buffer);
  const f32 = new Float32Array(buffer);
  for (let i = 0; i < members.length; i++) {
    i32[i * stride] = members[i];
    f32[i * stride + 1] = norms[i];
    f32.set(vectors.subarray(i * d, (i + 1) * d), i * stride + 2);
  }
  return new Uint8Array(buffer);
}

/** Rows of a part as read: offsets, members, vectors and norms, and room for the code words `completed` makes. */
interface ReadRows {
  readonly offsets: Int32Array;
  readonly members: Int32Array;
  readonly vectors: Float32Array;
  readonly norms: Float64Array;
  readonly words?: Int32Array;
}

function emptyRows(offsets: Int32Array, d: number): ReadRows {
  const size = offsets[offsets.length - 1];
  return { offsets, members: new Int32Array(size), vectors: new Float32Array(size * d), norms: new Float64Array(size) };
}

/** Decodes whole records of a `format` object into rows from row `at` (format 2: norms left to `completed`). */
function decodeRecords(bytes: Uint8Array, d: number, format: number, into: ReadRows, at: number): void {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const withNorms = format !== CELLS_FORMAT_WITHOUT_NORMS;
  const stride = recordBytes(d, format) / 4;
  const rows = aligned.byteLength / (stride * 4);
  const i32 = new Int32Array(aligned.buffer, aligned.byteOffset, rows * stride);
  const f32 = new Float32Array(aligned.buffer, aligned.byteOffset, rows * stride);
  const first = withNorms ? 2 : 1;
  for (let i = 0; i < rows; i++) {
    into.members[at + i] = i32[i * stride];
    if (withNorms) into.norms[at + i] = f32[i * stride + 1];
    into.vectors.set(f32.subarray(i * stride + first, (i + 1) * stride), (at + i) * d);
  }
}

/**
 * A part from rows read: their code words computed as the cells task did (encodeRows), and their norms
 * (rowNormsOf, as buildIvfCells) when the object is of format 2.
 */
function completed(
  { offsets, members, vectors, norms, words }: ReadRows,
  d: number,
  format: number,
  codes: Int16Codes | undefined,
  nearestWidth: number,
  nearest: Int32Array,
): RangeCellsPart {
  const n = members.length;
  const coded = codes === undefined || n === 0 ? new Int32Array(0) : encodeRows(codes, vectors, n, words);
  if (format === CELLS_FORMAT_WITHOUT_NORMS) rowNormsOf(vectors, n, d, norms);
  return { offsets, members, vectors, norms, words: coded, nearestWidth, nearest };
}

export async function writeRangeCells(
  ctx: StageContext,
  runId: string,
  range: number,
  shard: number,
  part: RangeCellsPart,
) {
  const { offsets, members, vectors, norms, nearestWidth, nearest } = part;
  const d = members.length > 0 ? vectors.length / members.length : 0;
  await ctx.store.put(
    keys.rangeCells(runId, range, shard),
    packArrays([
      Int32Array.of(CELLS_FORMAT, nearestWidth, d),
      offsets,
      encodeRecords(members, norms, vectors, d),
      nearest,
    ]),
  );
}

/**
 * A whole cells object: every cell's rows, with their nearest cells (a neighbors task's queries), and code words
 * under `codes` (the run's, from model.bin; none without).
 */
export async function readRangeCells(
  ctx: StageContext,
  runId: string,
  range: number,
  shard: number,
  codes?: Int16Codes,
): Promise<RangeCellsPart> {
  const key = keys.rangeCells(runId, range, shard);
  const [header, offsets, records, nearest] = unpackArrays(await ctx.store.get(key));
  if (header.length !== 3 || !readableFormat(header[0]) || !(records instanceof Uint8Array)) {
    throw new RangeError(
      `${ctx.store.describe(key)} is not a cells object of this version (run the cells stage again)`,
    );
  }
  const [format, nearestWidth, d] = header as Int32Array;
  const rows = emptyRows(offsets as Int32Array, d);
  if (records.byteLength !== rows.members.length * recordBytes(d, format)) {
    throw new RangeError(
      `${ctx.store.describe(key)}: ${records.byteLength} bytes of records for ${rows.members.length} rows`,
    );
  }
  decodeRecords(records, d, format, rows, 0);
  // A copy of the nearest cells, so the object's bytes can go once decoded.
  return completed(rows, d, format, codes, nearestWidth, (nearest as Int32Array).slice());
}

/** Of a cells object, the cells to read: wanted[i] = 1 for the range's i-th cell (ascending). */
export interface ProbedCellsRequest {
  readonly range: number;
  readonly shard: number;
  readonly wanted: Uint8Array;
}

/**
 * Records of wanted cells further apart than this are read with separate GETs; closer, in one, and only the wanted
 * cells' records are decoded. A request costs far more than the bytes between: an S3 GET's first byte takes tens
 * of milliseconds, in which it would transfer megabytes, and a ranged read on disk (open, stat, read, close) costs
 * about what copying a few hundred kilobytes does. 64 KiB is about 250 rows of 64 features, a few cells' part of
 * one shard. With 4 KiB, the neighbors tasks of an incremental run at 1M + 10% rows made 3,738 ranged reads; now 1,444.
 */
const JOIN_GAP_BYTES = 64 * 1024;

/** The wanted cells of a cells object, and the object's own cell offsets (its index: every cell's rows). */
export type ProbedCellsPart = RangeCellsPart & { readonly objectOffsets: Int32Array };

/**
 * The members of the wanted cells of cells objects (one part per request, in order; the other cells empty, no
 * nearest cells): each object's index (its leading arrays: header and cell offsets), then one ranged GET per
 * run of adjacent wanted cells, every request of all the objects REQUESTS_AT_ONCE at a time. A neighbors task
 * reads the ranges its queries probe so: only the cells they probe, not whole objects.
 */
export function readProbedCells(
  ctx: StageContext,
  runId: string,
  requests: readonly ProbedCellsRequest[],
  codes?: Int16Codes,
): Promise<ProbedCellsPart[]> {
  const keyed = requests.map(({ range, shard, wanted }) => ({ key: keys.rangeCells(runId, range, shard), wanted }));
  return readProbedCellsAt(ctx.store, keyed, codes);
}

/** readProbedCells of cells objects by their keys (a run's, or a dataset version's index: predict). */
export async function readProbedCellsAt(
  store: ObjectStore,
  requests: readonly { readonly key: string; readonly wanted: Uint8Array }[],
  codes?: Int16Codes,
): Promise<ProbedCellsPart[]> {
  const indexes = await mapConcurrently(requests, async ({ key, wanted }) => {
    const lengths = indexByteLengths(wanted.length);
    const leading = await store.getRange(key, 0, packedDataStart(lengths));
    const index = cellsIndex(leading, wanted.length);
    if (index === undefined)
      throw new RangeError(`${store.describe(key)} is not a cells object of ${wanted.length} cells`);
    return { key, ...index };
  });
  const planned = requests.map(({ wanted }, p) => {
    const { d, offsets } = indexes[p];
    const runs = readRuns(wanted, offsets, recordBytes(d, indexes[p].format));
    // The part's cell offsets: the wanted cells' rows, the others empty.
    const read = new Int32Array(offsets.length);
    for (let i = 0; i < wanted.length; i++) read[i + 1] = read[i] + (wanted[i] === 1 ? offsets[i + 1] - offsets[i] : 0);
    return { runs, read };
  });
  const parts = planned.map(({ read }, p) => emptyRows(read, indexes[p].d));
  const reads = planned.flatMap(({ runs }, p) => runs.map(([first, end]) => ({ part: p, first, end })));
  await mapConcurrently(reads, async ({ part, first, end }) => {
    const { key, d, format, offsets, start } = indexes[part];
    const bytes = recordBytes(d, format);
    const [from, to] = [start + offsets[first] * bytes, start + offsets[end] * bytes];
    const records = await store.getRange(key, from, to);
    if (records.byteLength !== to - from) {
      throw new RangeError(
        `${store.describe(key)}: bytes [${from}, ${to}) are past its end (${records.byteLength} read)`,
      );
    }
    const { wanted } = requests[part];
    const { read } = planned[part];
    for (let i = first; i < end; i++) {
      if (wanted[i] !== 1 || offsets[i + 1] === offsets[i]) continue;
      const cell = records.subarray((offsets[i] - offsets[first]) * bytes, (offsets[i + 1] - offsets[first]) * bytes);
      decodeRecords(cell, d, format, parts[part], read[i]);
    }
  });
  return parts.map((rows, p) => {
    const { d, format, nearestWidth, offsets } = indexes[p];
    return { ...completed(rows, d, format, codes, nearestWidth, new Int32Array(0)), objectOffsets: offsets };
  });
}

/** A cells object's nearest width, d, cell offsets and where its records start, from its leading bytes; or undefined. */
function cellsIndex(
  leading: Uint8Array,
  cells: number,
): { format: number; nearestWidth: number; d: number; offsets: Int32Array; start: number } | undefined {
  try {
    const { arrays, next } = unpackLeading(leading, 2);
    const [header, offsets] = arrays;
    if (!(header instanceof Int32Array && offsets instanceof Int32Array)) return undefined;
    if (header.length !== 3 || !readableFormat(header[0]) || offsets.length !== cells + 1) return undefined;
    if (next.kind !== 'Uint8Array') return undefined;
    const [format, nearestWidth, d] = header;
    return { format, nearestWidth, d, offsets: Int32Array.from(offsets), start: next.start };
  } catch {
    return undefined;
  }
}

/**
 * The cells to read together of an object whose rows are `rowBytes` each, by cell (offsets): runs [from, to) of
 * wanted cells, those less than JOIN_GAP_BYTES apart joined. The reader keeps the wanted cells' rows only.
 */
export function readRuns(wanted: Uint8Array, offsets: Int32Array, rowBytes: number): [number, number][] {
  return wantedRuns(wanted, offsets, JOIN_GAP_BYTES / rowBytes);
}

/**
 * The runs [from, to) of adjacent wanted cells holding rows, runs with fewer than `joinRows` rows between them
 * joined.
 */
function wantedRuns(wanted: Uint8Array, offsets: Int32Array, joinRows: number): [number, number][] {
  const runs: [number, number][] = [];
  for (let i = 0; i < wanted.length; i++) {
    if (wanted[i] !== 1 || offsets[i + 1] === offsets[i]) continue;
    const last = runs[runs.length - 1];
    if (last !== undefined && offsets[i] - offsets[last[1]] < joinRows) last[1] = i + 1;
    else runs.push([i, i + 1]);
  }
  return runs;
}

/** The lists a range's neighbors task found for one shard's rows in that range: their global indices, lists. */
export interface RangeListsPart {
  readonly members: Int32Array;
  readonly lists: KnnResult;
}

export async function writeRangeLists(
  ctx: StageContext,
  runId: string,
  range: number,
  shard: number,
  part: RangeListsPart,
) {
  const { members, lists } = part;
  await ctx.store.put(
    keys.rangeNeighbors(runId, range, shard),
    packArrays([Int32Array.of(lists.k), members, lists.indices, lists.distances]),
  );
}

export async function readRangeLists(
  ctx: StageContext,
  runId: string,
  range: number,
  shard: number,
): Promise<RangeListsPart> {
  const [header, members, indices, distances] = unpackArrays(
    await ctx.store.get(keys.rangeNeighbors(runId, range, shard)),
  );
  const k = header[0];
  return {
    members: members as Int32Array,
    lists: { n: members.length, k, indices: indices as Int32Array, distances: distances as Float64Array },
  };
}

/** A shard's part of the calibration: the members per cell and the calibration queries' lists among its rows. */
export interface ShardCalibration {
  readonly cellSizes: Int32Array;
  readonly lists: CalibrationLists;
}

export async function writeShardCalibration(ctx: StageContext, runId: string, shard: number, part: ShardCalibration) {
  const { cellSizes, lists } = part;
  const header = Int32Array.of(lists.n, lists.k);
  await ctx.store.put(
    keys.shardCalibration(runId, shard),
    packArrays([header, cellSizes, lists.indices, lists.distances, lists.cells]),
  );
}

export async function readShardCalibration(ctx: StageContext, runId: string, shard: number): Promise<ShardCalibration> {
  return readCalibrationObject(ctx.store, keys.shardCalibration(runId, shard));
}

/** A calibration part stored under `key` (a run's, or one a dataset version keeps). */
export async function readCalibrationObject(store: ObjectStore, key: string): Promise<ShardCalibration> {
  const [header, cellSizes, indices, distances, cells] = unpackArrays(await store.get(key));
  return {
    cellSizes: cellSizes as Int32Array,
    lists: {
      n: header[0],
      k: header[1],
      indices: indices as Int32Array,
      distances: distances as Float64Array,
      cells: cells as Int32Array,
    },
  };
}

/**
 * The calibrated model and the members of each cell over all shards (for probeCells' minMembers), with the
 * run's codes passed on from training.bin: everything a neighbors task needs besides the cells.
 */
export interface IvfModelObject {
  readonly model: IvfModel;
  readonly cellSizes: Int32Array;
  readonly codes?: Int16Codes;
  readonly ranges: CellRanges;
}

export async function writeIvfModel(ctx: StageContext, runId: string, object: IvfModelObject): Promise<void> {
  await ctx.store.put(
    keys.ivfModel(runId),
    packArrays([encodeIvfModel(object.model), object.cellSizes, codesSection(object.codes), object.ranges.rangeOf]),
  );
}

export async function readIvfModel(ctx: StageContext, runId: string): Promise<IvfModelObject> {
  const [model, cellSizes, codes, rangeOf] = unpackArrays(await ctx.store.get(keys.ivfModel(runId)));
  return {
    model: decodeIvfModel(model as Float32Array),
    cellSizes: cellSizes as Int32Array,
    ...codesOf(codes as Float32Array),
    ranges: rangesOf(rangeOf as Int32Array),
  };
}
