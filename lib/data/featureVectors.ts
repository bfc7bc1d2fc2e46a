/**
 * The feature vectors of parsed rows, handed out as views into shared blocks of BLOCK_ROWS rows. A
 * `new Float64Array(64)` per row gets its own off-heap buffer (V8 keeps only typed arrays of up to 64 bytes on
 * its heap): parsing a 50k x 64 CSV shard took 135 ms with one per row and 71 ms with views. A view keeps
 * its block alive, which is fine for readers' rows: their consumers copy the features out (ShardBuilder,
 * readDataset) and let the rows go.
 */
export class FeatureVectors {
  private block = new Float64Array(0);
  private used = 0;

  constructor(private readonly d: number) {}

  /** A zeroed vector of d features, not shared with any other call's. */
  next(): Float64Array {
    const { d } = this;
    if (this.used + d > this.block.length) {
      this.block = new Float64Array(BLOCK_ROWS * d);
      this.used = 0;
    }
    const vector = this.block.subarray(this.used, this.used + d);
    this.used += d;
    return vector;
  }
}

const BLOCK_ROWS = 1024;
