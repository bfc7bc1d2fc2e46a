/**
 * The trained part of an IVF (inverted file) index (Sivic & Zisserman, "Video Google", ICCV 2003; Jegou,
 * Douze & Schmid, "Product quantization for nearest neighbor search", TPAMI 2011, section 4 "IVFADC" without
 * the product quantiser): `nlist` centroids that split the space into cells, and `nprobe`, how many of the
 * nearest cells a query searches. It is small (nlist x d floats) and travels as one Float32Array.
 */
export interface IvfModel {
  readonly d: number;
  readonly nlist: number;
  /** nlist x d, row-major. */
  readonly centroids: Float32Array;
  /** Cells searched per query, 1..nlist. */
  readonly nprobe: number;
}

/**
 * Default number of cells: one per 1,000 rows, kept within [sqrt(n) / 2, 2 sqrt(n)], at least 1. A query costs
 * nlist centroid distances plus nprobe cells of n / nlist members, and each probed cell adds a fixed cost
 * (gathering its queries, a tile, the list updates), so cells of several hundred rows balance the two up to
 * a few million rows; beyond that 2 sqrt(n) keeps the centroid scan in check. Measured with the whole CLI run
 * (2 workers, recall@10 calibrated to 0.95): at 100k x 64, 158 cells against 632 took 6.0 s against 8.0 s on
 * blobs and 4.8 s against 5.6 s on the mixture; at 1M (mixture), 1000 cells 55.8 s, 1667 cells 57.9 s, 2000
 * cells 57.5 s, 500 cells 60.6 s. (FAISS's guideline of 4 to 16 sqrt(n) assumes a faster coarse scan.)
 */
export function defaultNlist(n: number): number {
  const root = Math.sqrt(n);
  return Math.max(1, Math.round(Math.min(2 * root, Math.max(root / 2, n / 1000))));
}

const HEADER = 4;
const FORMAT = 1;

/** [format, d, nlist, nprobe, centroids...]: the header values are small integers, exact in Float32. */
export function encodeIvfModel(model: IvfModel): Float32Array {
  checkModel(model);
  const out = new Float32Array(HEADER + model.centroids.length);
  out[0] = FORMAT;
  out[1] = model.d;
  out[2] = model.nlist;
  out[3] = model.nprobe;
  out.set(model.centroids, HEADER);
  return out;
}

export function decodeIvfModel(data: Float32Array): IvfModel {
  if (data.length < HEADER || data[0] !== FORMAT) throw new RangeError('not an encoded IVF model (format 1)');
  const model = { d: data[1], nlist: data[2], nprobe: data[3], centroids: data.slice(HEADER) };
  checkModel(model);
  return model;
}

/** Throws a RangeError unless the fields are consistent. */
export function checkModel(model: IvfModel): void {
  const { d, nlist, nprobe, centroids } = model;
  if (!Number.isInteger(d) || d < 1) throw new RangeError(`IVF model d must be an integer >= 1, got ${d}`);
  if (!Number.isInteger(nlist) || nlist < 1) throw new RangeError(`IVF nlist must be an integer >= 1, got ${nlist}`);
  if (!Number.isInteger(nprobe) || nprobe < 1 || nprobe > nlist) {
    throw new RangeError(`IVF nprobe must be an integer in [1, nlist=${nlist}], got ${nprobe}`);
  }
  if (centroids.length !== nlist * d) {
    throw new RangeError(`IVF model needs ${nlist}x${d} centroid values, got ${centroids.length}`);
  }
}
