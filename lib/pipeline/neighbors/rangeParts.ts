import type { FeatureMatrix } from '../../data/featureMatrix.ts';
import type { RangeCells } from '../../graph/ivf/cellRanges.ts';
import type { IvfCells } from '../../graph/ivf/ivfIndex.ts';
import type { NearestCells } from '../../graph/ivf/probeCells.ts';
import type { Int16Codes } from '../../linalg/int16Codes.ts';
import type { RangeCellsPart } from './ivfObjects.ts';

/**
 * A cell range's parts (one per shard, as the neighbors stage and an incremental run read them) as what the IVF
 * search takes: the range's rows as queries, and each part as inverted lists over all cells.
 */

/** A range's rows from its parts (one per shard, in shard order): vectors, nearest cells, each part's first row. */
export function rangeQueries(
  parts: readonly RangeCellsPart[],
  d: number,
): { X: FeatureMatrix & { readonly data: Float32Array }; nearest: NearestCells | undefined; starts: number[] } {
  const starts: number[] = [];
  let n = 0;
  for (const part of parts) {
    starts.push(n);
    n += part.members.length;
  }
  const width = parts[0]?.nearestWidth ?? 0;
  const data = new Float32Array(n * d);
  const cells = new Int32Array(n * width);
  parts.forEach((part, i) => {
    data.set(part.vectors, starts[i] * d);
    cells.set(part.nearest, starts[i] * width);
  });
  return { X: { data, n, d }, nearest: width > 0 ? { width, cells } : undefined, starts };
}

/**
 * One range's part as inverted lists over all nlist cells (the other ranges' cells empty), without a copy; with
 * `codes`, also its int16 words when it has them (or no members).
 */
export function partCells(
  { nlist, d }: { nlist: number; d: number },
  byRange: RangeCells,
  range: number,
  part: RangeCellsPart,
  codes?: Int16Codes,
): IvfCells {
  const cells = byRange.cells.subarray(byRange.starts[range], byRange.starts[range + 1]);
  const offsets = new Int32Array(nlist + 1);
  for (let c = 0, i = 0; c < nlist; c++) {
    offsets[c + 1] = offsets[c];
    if (i < cells.length && cells[i] === c) {
      offsets[c + 1] += part.offsets[i + 1] - part.offsets[i];
      i++;
    }
  }
  const { members, vectors, norms, words } = part;
  const lists = { d, nlist, offsets, members, vectors, norms };
  return codes !== undefined && (words.length > 0 || members.length === 0)
    ? { ...lists, coded: { codes, words } }
    : lists;
}
