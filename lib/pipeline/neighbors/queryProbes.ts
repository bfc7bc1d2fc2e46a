import type { CellRanges } from '../../graph/ivf/cellRanges.ts';
import type { IvfModel } from '../../graph/ivf/ivfModel.ts';
import { type ProbeLists, probeCells } from '../../graph/ivf/probeCells.ts';
import type { RangeCellsPart } from './ivfObjects.ts';

/**
 * The probe lists of a cells object's rows as queries, the same wherever they are computed (the probes task
 * routing a shard's rows, the neighbors task of their own range): each row's nprobe nearest cells, from the
 * nearest cells the cells task kept, widened by probeCells' minMembers rule (k members over the run's cell
 * sizes), so every task sees exactly the lists one in-process search would.
 */
export function partProbes(model: IvfModel, cellSizes: Int32Array, k: number, part: RangeCellsPart): ProbeLists {
  const d = model.d;
  const X = { data: part.vectors, n: part.members.length, d };
  const nearest = part.nearestWidth > 0 ? { width: part.nearestWidth, cells: part.nearest } : undefined;
  return probeCells(model, X, { minMembers: k, cellSizes, ...(nearest ? { nearest } : {}) });
}

/**
 * Probe lists kept to the cells of one range (the others -1), packed to the left in their order: what the
 * range's neighbors task searches of a query (ivfSearch skips -1). Width: the most cells of the range any row
 * probes (at least 1).
 */
export function probesInRange(
  probes: Int32Array,
  width: number,
  rows: readonly number[] | Int32Array,
  range: number,
  { rangeOf }: CellRanges,
): { width: number; probes: Int32Array } {
  let inWidth = 1;
  for (const row of rows) {
    let count = 0;
    for (let p = row * width; p < (row + 1) * width; p++) if (probes[p] >= 0 && rangeOf[probes[p]] === range) count++;
    inWidth = Math.max(inWidth, count);
  }
  const kept = new Int32Array(rows.length * inWidth).fill(-1);
  let i = 0;
  for (const row of rows) {
    let at = i * inWidth;
    for (let p = row * width; p < (row + 1) * width; p++) {
      if (probes[p] >= 0 && rangeOf[probes[p]] === range) kept[at++] = probes[p];
    }
    i++;
  }
  return { width: inWidth, probes: kept };
}
