import { type FeatureMatrix, featureMatrix } from '../../data/featureMatrix.ts';
import { rowNormsOf } from '../../linalg/dotDistances.ts';
import type { Int16Codes } from '../../linalg/int16Codes.ts';
import { knnSearch } from '../knnSearch.ts';
import { checkModel, type IvfModel } from './ivfModel.ts';

/**
 * The inverted lists of an IVF index: every row goes to the cell of its nearest centroid, and each cell lists
 * its rows' global indices with their vectors. A shard builds the lists of its own rows (`buildIvfCells`);
 * lists of several shards are used side by side by ivfSearch, or concatenated with `mergeIvfCells`.
 *
 * Distances to centroids use the Float32 dot-product kernel ('wasm', bit-identical to 'dot' where SIMD is
 * missing), ties to the lower cell, so a row's cell is the first cell it probes as a query and a point
 * always finds itself (probeCells.ts selects with the same distances and ties).
 */
export interface IvfCells {
  readonly d: number;
  readonly nlist: number;
  /** Cell c holds entries offsets[c] .. offsets[c+1] of members and vectors (nlist + 1 values). */
  readonly offsets: Int32Array;
  /** Global row indices, ascending within each cell. */
  readonly members: Int32Array;
  /** members.length x d Float32 values, row-major, in member order. */
  readonly vectors: Float32Array;
  /** |vector|^2 of each member (rowNormsOf: the dot kernel's f32 sequence), computed once with the lists. */
  readonly norms: Float64Array;
  /** The members' 16-bit code words (members.length x codes.pairs) under a run's codes, when made once. */
  readonly coded?: { readonly codes: Int16Codes; readonly words: Int32Array };
}

/** The cell of every row of X: its nearest centroid (ties: lower cell). */
export function assignCells(model: IvfModel, X: FeatureMatrix): Int32Array {
  checkModel(model);
  if (X.d !== model.d) throw new RangeError(`rows have ${X.d} features but the IVF model has ${model.d}`);
  const centroids = featureMatrix(model.centroids, model.nlist, model.d);
  return knnSearch(X, centroids, 1, { kernel: 'wasm' }).indices;
}

/**
 * Inverted lists of rows X, whose row i has global index firstIndex + i. `assignment` (X.n cells, as
 * `assignCells` returns) is computed when not given.
 */
export function buildIvfCells(model: IvfModel, X: FeatureMatrix, firstIndex = 0, assignment?: Int32Array): IvfCells {
  const cells = assignment ?? assignCells(model, X);
  const { nlist, d } = model;
  if (X.d !== d) throw new RangeError(`rows have ${X.d} features but the IVF model has ${d}`);
  if (cells.length !== X.n) throw new RangeError(`assignment has ${cells.length} cells for ${X.n} rows`);
  if (!Number.isInteger(firstIndex) || firstIndex < 0 || firstIndex + X.n > 2 ** 31 - 1) {
    throw new RangeError(`firstIndex must be an integer >= 0 within the Int32 range, got ${firstIndex}`);
  }
  const offsets = new Int32Array(nlist + 1);
  for (let i = 0; i < X.n; i++) {
    const c = cells[i];
    if (!(c >= 0 && c < nlist)) throw new RangeError(`row ${i} is assigned to cell ${c}, outside [0, ${nlist})`);
    offsets[c + 1]++;
  }
  for (let c = 0; c < nlist; c++) offsets[c + 1] += offsets[c];
  const fill = offsets.slice(0, nlist);
  const members = new Int32Array(X.n);
  const vectors = new Float32Array(X.n * d);
  for (let i = 0; i < X.n; i++) {
    const slot = fill[cells[i]]++;
    members[slot] = firstIndex + i;
    const src = i * d;
    const dst = slot * d;
    for (let t = 0; t < d; t++) vectors[dst + t] = X.data[src + t];
  }
  return { d, nlist, offsets, members, vectors, norms: rowNormsOf(vectors, X.n, d) };
}

/** Members of each cell over all parts: what probeCells needs to guarantee full lists (minMembers). */
export function ivfCellSizes(parts: readonly IvfCells[]): Int32Array {
  if (parts.length === 0) throw new RangeError('no cells to count');
  const sizes = new Int32Array(parts[0].nlist);
  for (const part of parts) {
    if (part.nlist !== sizes.length) throw new RangeError(`cells of ${part.nlist} and ${sizes.length} cells`);
    for (let c = 0; c < sizes.length; c++) sizes[c] += part.offsets[c + 1] - part.offsets[c];
  }
  return sizes;
}

/** The lists of several parts (disjoint rows) as one, members ascending within each cell, in any part order. */
export function mergeIvfCells(parts: readonly IvfCells[]): IvfCells {
  if (parts.length === 0) throw new RangeError('nothing to merge');
  const { d, nlist } = parts[0];
  for (const part of parts) {
    if (part.d !== d || part.nlist !== nlist) {
      throw new RangeError(`cannot merge cells of ${part.nlist}x${part.d} with ${nlist}x${d}`);
    }
  }
  const offsets = new Int32Array(nlist + 1);
  for (let c = 0; c < nlist; c++) {
    let size = 0;
    for (const part of parts) size += part.offsets[c + 1] - part.offsets[c];
    offsets[c + 1] = offsets[c] + size;
  }
  const total = offsets[nlist];
  const members = new Int32Array(total);
  const vectors = new Float32Array(total * d);
  const norms = new Float64Array(total);
  const source = new Int32Array(total * 2); // (part, entry) of each merged slot, to sort by member
  const order: number[] = [];
  for (let c = 0; c < nlist; c++) {
    order.length = 0;
    let slot = offsets[c];
    for (let p = 0; p < parts.length; p++) {
      for (let e = parts[p].offsets[c]; e < parts[p].offsets[c + 1]; e++) {
        source[2 * slot] = p;
        source[2 * slot + 1] = e;
        order.push(slot++);
      }
    }
    const memberOf = (s: number) => parts[source[2 * s]].members[source[2 * s + 1]];
    order.sort((a, b) => memberOf(a) - memberOf(b));
    for (let o = 0; o < order.length; o++) {
      const s = order[o];
      const part = parts[source[2 * s]];
      const e = source[2 * s + 1];
      const dst = offsets[c] + o;
      members[dst] = part.members[e];
      vectors.set(part.vectors.subarray(e * d, e * d + d), dst * d);
      norms[dst] = part.norms[e];
    }
  }
  return { d, nlist, offsets, members, vectors, norms };
}
