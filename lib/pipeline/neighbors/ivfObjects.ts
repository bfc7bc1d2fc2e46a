import type { FeatureMatrix } from '../../data/featureMatrix.ts';
import type { CellRanges } from '../../graph/ivf/cellRanges.ts';
import { decodeIvfModel, encodeIvfModel, type IvfModel } from '../../graph/ivf/ivfModel.ts';
import type { CalibrationLists } from '../../graph/ivf/nprobeCalibration.ts';
import type { KnnResult } from '../../graph/knnSearch.ts';
import { codesFromArray, codesToArray, type Int16Codes } from '../../linalg/int16Codes.ts';
import { packArrays, unpackArrays } from '../binaryArrays.ts';
import { keys } from '../keys.ts';
import type { StageContext } from '../stageContext.ts';

/**
 * The objects of approximate neighbour search (IVF) between its steps: collect trains the centroids, splits
 * the cells into cell ranges (cellRanges.ts), draws the calibration queries and makes the run's 16-bit codes
 * (training.bin); each cells task writes its shard's rows grouped by cell, one object per cell range
 * (ranges/<r>/<shard>/cells.bin, with their code words and nearest cells) and its part of the calibration
 * (calibration.bin); calibrate writes the model with its nprobe, the size of every cell, the ranges and the
 * codes (model.bin); the neighbors task of range r reads the cells objects of the ranges its queries probe and
 * writes its lists per shard (ranges/<r>/<shard>/neighbors.bin), which each shard's gather task assembles.
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

/** Ranges from each cell's range: every range holds a cell, so there are max + 1 of them. */
function rangesOf(rangeOf: Int32Array): CellRanges {
  let count = 0;
  for (const range of rangeOf) count = Math.max(count, range + 1);
  return { count, rangeOf };
}

export async function readIvfTraining(ctx: StageContext, runId: string): Promise<IvfTrainingObject> {
  const [model, queries, codes, rangeOf] = unpackArrays(await ctx.store.get(keys.ivfTraining(runId)));
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

export async function writeRangeCells(
  ctx: StageContext,
  runId: string,
  range: number,
  shard: number,
  part: RangeCellsPart,
) {
  const { offsets, members, vectors, norms, words, nearestWidth, nearest } = part;
  await ctx.store.put(
    keys.rangeCells(runId, range, shard),
    packArrays([Int32Array.of(nearestWidth), offsets, members, vectors, norms, words, nearest]),
  );
}

export async function readRangeCells(
  ctx: StageContext,
  runId: string,
  range: number,
  shard: number,
): Promise<RangeCellsPart> {
  const [header, offsets, members, vectors, norms, words, nearest] = unpackArrays(
    await ctx.store.get(keys.rangeCells(runId, range, shard)),
  );
  return {
    nearestWidth: header[0],
    offsets: offsets as Int32Array,
    members: members as Int32Array,
    vectors: vectors as Float32Array,
    norms: norms as Float64Array,
    words: words as Int32Array,
    nearest: nearest as Int32Array,
  };
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
  const [header, cellSizes, indices, distances, cells] = unpackArrays(
    await ctx.store.get(keys.shardCalibration(runId, shard)),
  );
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
