import type { FeatureMatrix } from '../../data/featureMatrix.ts';
import { distanceTiles } from '../../linalg/distanceTiles.ts';
import { ranksBefore } from '../../linalg/topK.ts';
import { emptyKnnResult, type KnnResult } from '../knnSearch.ts';
import { exactListsOverCells, type SearchLimits } from './ivfExactSearch.ts';
import { assignCells, buildIvfCells, type IvfCells } from './ivfIndex.ts';
import { checkModel, type IvfModel } from './ivfModel.ts';

/**
 * nprobe measured for a target recall instead of guessed. An IVF search that probes a query's p nearest
 * cells finds a true neighbour exactly when the neighbour's cell is among them, and every true neighbour it
 * finds is in its list (a true k-nearest neighbour is among the k nearest of any subset holding it). So
 * recall@k as a function of p follows from the rank of each true neighbour's cell in the query's cell order:
 * from the EXACT lists of a few calibration queries (rows of the data, drawn by ivfSample.ts's hash), with
 * the cell of each listed row, and one distance row query -> centroids per query. No search is run.
 *
 * Sharded: each shard computes `calibrationPartial` of the calibration queries among its own rows, a reducer
 * merges the partials (`mergeCalibrationLists`, in any order) and calls `calibrateNprobe`. The calibration
 * queries are ordinary rows, so they include themselves as knnSearch's lists do; 2000 queries estimate
 * recall@10 near 0.95 within about +-0.002 (binomial standard error over their 18,000 other neighbours),
 * hence the default margin of 0.005.
 */

/** Exact top-k lists (as KnnResult, global indices) with the cell of every listed row (-1 for empty slots). */
export interface CalibrationLists extends KnnResult {
  readonly cells: Int32Array;
}

/** Default calibration queries. */
export const CALIBRATION_QUERIES = 2000;
/** Added to the target recall, against the calibration's sampling error. */
export const CALIBRATION_MARGIN = 0.005;

/** A shard's inverted lists with the cell of each of its rows, as the cells stage builds them. */
export interface ShardIndex {
  readonly assignment: Int32Array;
  readonly cells: IvfCells;
}

/**
 * The lists of calibration queries among rows (row i has global index firstIndex + i), cells included: exact,
 * by exactListsOverCells over the rows' cells (`index`, built here when not given), or over all the rows where
 * the cells' bound prunes little. `limits`: only rows nearer than each query's limit are listed (SearchLimits).
 */
export function calibrationPartial(
  model: IvfModel,
  queries: FeatureMatrix,
  rows: FeatureMatrix,
  firstIndex: number,
  k: number,
  index?: ShardIndex,
  limited?: SearchLimits,
): CalibrationLists {
  checkModel(model);
  const assignment = index?.assignment ?? assignCells(model, rows);
  const cells = index?.cells ?? buildIvfCells(model, rows, firstIndex, assignment);
  const lists = exactListsOverCells(model, queries, cells, k, { X: rows, firstIndex }, limited);
  const listedCells = Int32Array.from(lists.indices, (g) => (g >= 0 ? assignment[g - firstIndex] : -1));
  return { ...lists, cells: listedCells };
}

/** The k first by (distance, index) of two partials of the same queries, cells carried along. */
export function mergeCalibrationLists(a: CalibrationLists, b: CalibrationLists): CalibrationLists {
  if (a.n !== b.n || a.k !== b.k) throw new RangeError(`cannot merge ${a.n} lists of ${a.k} with ${b.n} of ${b.k}`);
  const { n, k } = a;
  const out = emptyKnnResult(n, k);
  const cells = new Int32Array(n * k).fill(-1);
  for (let q = 0; q < n; q++) {
    const end = (q + 1) * k;
    let ia = q * k;
    let ib = q * k;
    let o = q * k;
    let last = -1;
    while (o < end) {
      const aLive = ia < end && a.indices[ia] >= 0;
      const bLive = ib < end && b.indices[ib] >= 0;
      if (!aLive && !bLive) break;
      const fromA = aLive && (!bLive || ranksBefore(a.distances[ia], a.indices[ia], b.distances[ib], b.indices[ib]));
      const src = fromA ? a : b;
      const at = fromA ? ia++ : ib++;
      if (src.indices[at] === last) continue;
      last = src.indices[at];
      out.distances[o] = src.distances[at];
      out.indices[o] = last;
      cells[o++] = src.cells[at];
    }
  }
  return { ...out, cells };
}

/**
 * recall[p - 1] for p = 1 .. nlist: the share of the listed neighbours (empty slots excluded) whose cell is
 * among the query's p nearest cells (by distance, then lower cell, as probeCells picks them).
 */
export function probeRecallCurve(model: IvfModel, queries: FeatureMatrix, lists: CalibrationLists): Float64Array {
  checkModel(model);
  const { nlist, d } = model;
  const { k } = lists;
  if (queries.d !== d) throw new RangeError(`queries have ${queries.d} features but the IVF model has ${d}`);
  if (lists.n !== queries.n) throw new RangeError(`${lists.n} calibration lists for ${queries.n} queries`);
  const found = new Float64Array(nlist); // found[r]: listed neighbours whose cell has rank r
  const block = 64;
  const tiles = distanceTiles('wasm', d, Math.max(1, Math.min(block, queries.n)), nlist);
  tiles.setReference(model.centroids, 0, nlist);
  let total = 0;
  for (let q0 = 0; q0 < queries.n; q0 += block) {
    const q1 = Math.min(q0 + block, queries.n);
    tiles.setQuery(queries.data, q0, q1);
    tiles.compute();
    const { tile, stride } = tiles;
    for (let i = q0; i < q1; i++) {
      const row = (i - q0) * stride;
      for (let s = i * k; s < (i + 1) * k; s++) {
        const c = lists.cells[s];
        if (lists.indices[s] < 0 || c < 0) continue;
        const dc = tile[row + c];
        let rank = 0;
        for (let other = 0; other < nlist; other++) {
          const v = tile[row + other];
          if (v < dc || (v === dc && other < c)) rank++;
        }
        found[rank]++;
        total++;
      }
    }
  }
  const curve = new Float64Array(nlist);
  let acc = 0;
  for (let p = 0; p < nlist; p++) {
    acc += found[p];
    curve[p] = total === 0 ? 1 : acc / total;
  }
  return curve;
}

/** The smallest p with curve[p - 1] >= target (nlist, which finds everything, when none is). */
export function nprobeForRecall(curve: Float64Array, target: number): number {
  if (!(target >= 0 && target <= 1)) throw new RangeError(`target recall must be in [0, 1], got ${target}`);
  for (let p = 1; p <= curve.length; p++) if (curve[p - 1] >= target) return p;
  return curve.length;
}

/** The model with the nprobe that reaches targetRecall + margin on the calibration lists, and the curve. */
export function calibrateNprobe(
  model: IvfModel,
  queries: FeatureMatrix,
  lists: CalibrationLists,
  targetRecall: number,
  margin: number = CALIBRATION_MARGIN,
): { readonly model: IvfModel; readonly recallCurve: Float64Array } {
  const recallCurve = probeRecallCurve(model, queries, lists);
  const nprobe = nprobeForRecall(recallCurve, Math.min(1, targetRecall + margin));
  return { model: { ...model, nprobe }, recallCurve };
}
