import type { FeatureMatrix } from '../data/featureMatrix.ts';
import type { IvfCells } from '../graph/ivf/ivfIndex.ts';
import { decodeIvfModel, encodeIvfModel, type IvfModel } from '../graph/ivf/ivfModel.ts';
import type { CalibrationLists } from '../graph/ivf/nprobeCalibration.ts';
import type { NearestCells } from '../graph/ivf/probeCells.ts';
import { codesFromArray, codesToArray, type Int16Codes } from '../linalg/int16Codes.ts';
import { packArrays, unpackArrays } from './binaryArrays.ts';
import { keys } from './keys.ts';
import type { StageContext } from './stageContext.ts';

/**
 * The objects of approximate neighbour search (IVF) between its steps: collect trains the centroids, draws
 * the calibration queries and makes the run's 16-bit codes (training.bin); each cells task writes its shard's
 * inverted lists with their code words (cells.bin) and its part of the calibration (calibration.bin);
 * calibrate writes the model with its nprobe, the size of every cell and the codes (model.bin), which the
 * neighbors tasks read.
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
    packArrays([encodeIvfModel(training.model), training.queries.data, codesSection(training.codes)]),
  );
}

export async function readIvfTraining(ctx: StageContext, runId: string): Promise<IvfTrainingObject> {
  const [model, queries, codes] = unpackArrays(await ctx.store.get(keys.ivfTraining(runId))) as Float32Array[];
  const decoded = decodeIvfModel(model);
  return {
    model: decoded,
    queries: { data: queries, n: queries.length / decoded.d, d: decoded.d },
    ...codesOf(codes),
  };
}

export async function writeShardCells(ctx: StageContext, runId: string, shard: number, cells: IvfCells) {
  await ctx.store.put(
    keys.shardCells(runId, shard),
    packArrays([cells.offsets, cells.members, cells.vectors, cells.norms, cells.coded?.words ?? new Int32Array(0)]),
  );
}

/** A shard's cells, with the code words its cells task made under the run's `codes` (model.bin). */
export async function readShardCells(
  ctx: StageContext,
  runId: string,
  shard: number,
  model: IvfModel,
  codes: Int16Codes | undefined,
): Promise<IvfCells> {
  const [offsets, members, vectors, norms, words] = unpackArrays(await ctx.store.get(keys.shardCells(runId, shard)));
  return {
    d: model.d,
    nlist: model.nlist,
    offsets: offsets as Int32Array,
    members: members as Int32Array,
    vectors: vectors as Float32Array,
    norms: norms as Float64Array,
    ...(codes !== undefined && words.length > 0 ? { coded: { codes, words: words as Int32Array } } : {}),
  };
}

export async function writeShardNearestCells(ctx: StageContext, runId: string, shard: number, nearest: NearestCells) {
  await ctx.store.put(keys.shardNearestCells(runId, shard), packArrays([Int32Array.of(nearest.width), nearest.cells]));
}

export async function readShardNearestCells(ctx: StageContext, runId: string, shard: number): Promise<NearestCells> {
  const [header, cells] = unpackArrays(await ctx.store.get(keys.shardNearestCells(runId, shard)));
  return { width: header[0], cells: cells as Int32Array };
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
}

export async function writeIvfModel(ctx: StageContext, runId: string, object: IvfModelObject): Promise<void> {
  await ctx.store.put(
    keys.ivfModel(runId),
    packArrays([encodeIvfModel(object.model), object.cellSizes, codesSection(object.codes)]),
  );
}

export async function readIvfModel(ctx: StageContext, runId: string): Promise<IvfModelObject> {
  const [model, cellSizes, codes] = unpackArrays(await ctx.store.get(keys.ivfModel(runId)));
  return {
    model: decodeIvfModel(model as Float32Array),
    cellSizes: cellSizes as Int32Array,
    ...codesOf(codes as Float32Array),
  };
}
