import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { AffinityOperator } from './affinity.ts';
import { type CsrGraph, csrMultiply, csrMultiplyRows } from './csrGraph.ts';

/**
 * The CSR graph product of label propagation split over two threads: this thread computes the first rows, a
 * helper thread the rest, on shared memory. At 1M rows a product is a stream of cache misses (about 0.3 s),
 * which a second core overlaps. The helper runs the source text of csrMultiplyRows, so every row is computed
 * by the same code in the same order as csrMultiply: the same doubles.
 *
 * Synchronous, as the propagation loop is: the threads meet through Atomics on a small control block.
 * Products must use the two shared blocks (`blocks`), which the loop swaps; any other operands are
 * multiplied in this thread alone. `close()` ends the helper.
 */

/** Rows from which propagation splits its products (below, a product is too short to share). */
export const PARALLEL_PRODUCT_FROM_ROWS = 200_000;
/** How long `open` waits for the helper to start before multiplying in one thread. */
const START_TIMEOUT_MS = 10_000;

// control block (Int32): the product requested (sequence number, -1 = stop), which block is Y, the helper's
// last finished product, and whether it started
const REQUEST = 0;
const DIRECTION = 1;
const FINISHED = 2;
const STARTED = 3;
/** FINISHED when the helper threw (it cannot post an error while this thread waits). */
const FAILED = -2;

const HELPER = `
const { workerData } = require('node:worker_threads');
const multiplyRows = (${csrMultiplyRows.toString()});
const { n, k, from, to, indptr, indices, data, a, b, control } = workerData;
const graph = { n, indptr: new Int32Array(indptr), indices: new Int32Array(indices), data: new Float64Array(data) };
const blocks = [new Float64Array(a), new Float64Array(b)];
const ctl = new Int32Array(control);
Atomics.store(ctl, ${STARTED}, 1);
Atomics.notify(ctl, ${STARTED});
let seen = 0;
for (;;) {
  Atomics.wait(ctl, ${REQUEST}, seen);
  seen = Atomics.load(ctl, ${REQUEST});
  if (seen < 0) break;
  const forward = Atomics.load(ctl, ${DIRECTION}) === 0;
  let finished = seen;
  try {
    multiplyRows(graph, forward ? blocks[0] : blocks[1], k, forward ? blocks[1] : blocks[0], from, to);
  } catch {
    finished = ${FAILED};
  }
  Atomics.store(ctl, ${FINISHED}, finished);
  Atomics.notify(ctl, ${FINISHED});
}
`;

export class ParallelCsrProduct implements AffinityOperator {
  readonly n: number;
  /** Two n x k blocks in shared memory: the loop's current and next distributions. */
  readonly blocks: readonly [Float64Array, Float64Array];
  private readonly graph: CsrGraph;
  private readonly k: number;
  private readonly split: number;
  private readonly control = new Int32Array(new SharedArrayBuffer(16));
  private readonly helper: Worker;
  private requests = 0;

  /**
   * A product over two threads, or undefined (multiply in one thread) where `cores` (this machine's) is 1 or the
   * helper does not start. A test passes cores = 2 to run the two-thread path on any machine.
   */
  static open(graph: CsrGraph, k: number, cores = availableParallelism()): ParallelCsrProduct | undefined {
    if (cores < 2) return undefined;
    const product = new ParallelCsrProduct(graph, k);
    if (Atomics.wait(product.control, STARTED, 0, START_TIMEOUT_MS) === 'timed-out') {
      product.close();
      return undefined;
    }
    return product;
  }

  private constructor(graph: CsrGraph, k: number) {
    this.n = graph.n;
    this.k = k;
    // Arrays already in shared memory (renumberCsr's `shared`) are used as they are; others are copied.
    const shared = <T extends Int32Array | Float64Array>(array: T, Kind: new (buffer: SharedArrayBuffer) => T): T => {
      if (array.buffer instanceof SharedArrayBuffer) return array;
      const copy = new Kind(new SharedArrayBuffer(array.byteLength));
      copy.set(array);
      return copy;
    };
    this.graph = {
      n: graph.n,
      indptr: shared(graph.indptr, Int32Array),
      indices: shared(graph.indices, Int32Array),
      data: shared(graph.data, Float64Array),
    };
    this.blocks = [
      new Float64Array(new SharedArrayBuffer(8 * graph.n * k)),
      new Float64Array(new SharedArrayBuffer(8 * graph.n * k)),
    ];
    // Rows split where the entries are halved: the work of a row is its entries.
    const half = graph.indptr[graph.n] / 2;
    let split = 0;
    while (split < graph.n && graph.indptr[split + 1] <= half) split++;
    this.split = split;
    const { indptr, indices, data } = this.graph;
    this.helper = new Worker(HELPER, {
      eval: true,
      workerData: {
        n: graph.n,
        k,
        from: split,
        to: graph.n,
        indptr: indptr.buffer,
        indices: indices.buffer,
        data: data.buffer,
        a: this.blocks[0].buffer,
        b: this.blocks[1].buffer,
        control: this.control.buffer,
      },
    });
    this.helper.unref();
  }

  multiply(Y: Float64Array, k: number, out: Float64Array): void {
    const [a, b] = this.blocks;
    const forward = Y === a && out === b;
    if (k !== this.k || !(forward || (Y === b && out === a))) {
      csrMultiply(this.graph, Y, k, out);
      return;
    }
    const request = ++this.requests;
    Atomics.store(this.control, DIRECTION, forward ? 0 : 1);
    Atomics.store(this.control, REQUEST, request);
    Atomics.notify(this.control, REQUEST);
    csrMultiplyRows(this.graph, Y, k, out, 0, this.split);
    for (let done = Atomics.load(this.control, FINISHED); done !== request; ) {
      if (done === FAILED) throw new Error('the helper thread of the graph product failed');
      Atomics.wait(this.control, FINISHED, done);
      done = Atomics.load(this.control, FINISHED);
    }
  }

  close(): void {
    Atomics.store(this.control, REQUEST, -1);
    Atomics.notify(this.control, REQUEST);
    void this.helper.terminate();
  }
}
