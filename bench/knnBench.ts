import { writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { FeatureMatrix } from '../lib/data/featureMatrix.ts';
import { ivfKnn } from '../lib/graph/ivf/ivfKnn.ts';
import { type KnnResult, knnSearch } from '../lib/graph/knnSearch.ts';
import type { DistanceKernel } from '../lib/linalg/distanceTiles.ts';
import { type DataKind, syntheticRows } from './syntheticRows.ts';

/**
 * `node bin/run-ts.mjs bench/knnBench.ts [--n 20000,100000] [--d 64] [--k 10] [--data mixture,blobs,uniform]
 *  [--queries 2000] [--target 0.95] [--seed 0] [--nlist-factor F]`
 *
 * Exact kNN (knnSearch) with each distance kernel against approximate kNN by IVF (lib/graph/ivf), in this
 * process, one thread, every row a query among all rows (the pipeline's self-search):
 * - exact 'wasm' on all rows (its lists are the reference for recall);
 * - exact 'direct' and 'dot' on the first --queries rows, scaled to all rows (their cost does not depend on
 *   the data);
 * - IVF (train k-means on a sample + calibrate nprobe for --target on exact lists of 2000 rows + assign rows
 *   and probe cells + search), and its recall@k against exact 'wasm' (the same distances, so a neighbour is
 *   found or not, no rounding ambiguity).
 * Data sets: syntheticRows.ts (mixture, blobs, uniform).
 * Writes bench/results/knn.json. A measurement, not a test: shared or busy cores change the times.
 */

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '20000,100000' },
    d: { type: 'string', default: '64' },
    k: { type: 'string', default: '10' },
    data: { type: 'string', default: 'mixture,blobs,uniform' },
    queries: { type: 'string', default: '2000' },
    target: { type: 'string', default: '0.95' },
    seed: { type: 'string', default: '0' },
    'nlist-factor': { type: 'string' },
  },
});
const sizes = values.n.split(',').map(Number);
const d = Number(values.d);
const k = Number(values.k);
const datasets = values.data.split(',') as DataKind[];
const sampleQueries = Number(values.queries);
const targetRecall = Number(values.target);
const seed = Number(values.seed);
/** IVF cells = factor x sqrt(n); unset, the product's default (defaultNlist, ivfModel.ts). */
const nlistFactor = values['nlist-factor'] === undefined ? undefined : Number(values['nlist-factor']);

function generate(kind: DataKind, n: number): FeatureMatrix {
  return syntheticRows(kind, n, d, seed);
}

function firstRows(X: FeatureMatrix, count: number): FeatureMatrix {
  return { data: X.data.subarray(0, count * X.d), n: count, d: X.d };
}

function timed<T>(run: () => T): { value: T; ms: number } {
  const start = performance.now();
  const value = run();
  return { value, ms: performance.now() - start };
}

/** Exact kNN time for all rows, from the first `queries` rows (scaled) when fewer than n. */
function exactMs(X: FeatureMatrix, kernel: DistanceKernel, queries: number): number {
  const q = Math.min(queries, X.n);
  const { ms } = timed(() => knnSearch(firstRows(X, q), X, k, { kernel }));
  return (ms * X.n) / q;
}

function recallAtK(approx: KnnResult, exact: KnnResult): number {
  let found = 0;
  for (let i = 0; i < exact.n; i++) {
    for (let s = 0; s < k; s++) {
      const want = exact.indices[i * k + s];
      for (let t = 0; t < k; t++) {
        if (approx.indices[i * k + t] === want) {
          found++;
          break;
        }
      }
    }
  }
  return found / (exact.n * k);
}

const seconds = (ms: number) => (ms / 1000).toFixed(2);
const rows: Record<string, unknown>[] = [];
console.log(`kNN, d=${d}, k=${k}, one thread, ${cpus()[0]?.model ?? 'unknown CPU'}`);
// Warm the JIT and compile the kernels once.
knnSearch(generate('uniform', 2000), generate('uniform', 2000), k, { kernel: 'wasm' });
for (const n of sizes) {
  const directMs = exactMs(generate('uniform', n), 'direct', sampleQueries);
  const dotMs = exactMs(generate('uniform', n), 'dot', sampleQueries);
  for (const kind of datasets) {
    const X = generate(kind, n);
    const exact = timed(() => knnSearch(X, X, k, { kernel: 'wasm' }));
    const nlist = nlistFactor === undefined ? undefined : Math.max(1, Math.round(nlistFactor * Math.sqrt(X.n)));
    const ivf = ivfKnn(X, k, { seed, targetRecall, ...(nlist === undefined ? {} : { nlist }) });
    const ivfMs = ivf.ms.train + ivf.ms.calibrate + ivf.ms.build + ivf.ms.search;
    const recall = recallAtK(ivf.result, exact.value);
    const row = {
      n,
      data: kind,
      directS: directMs / 1000,
      dotS: dotMs / 1000,
      wasmS: exact.ms / 1000,
      ivfS: ivfMs / 1000,
      ivfTrainS: ivf.ms.train / 1000,
      ivfCalibrateS: ivf.ms.calibrate / 1000,
      ivfBuildS: ivf.ms.build / 1000,
      ivfSearchS: ivf.ms.search / 1000,
      nlist: ivf.model.nlist,
      nprobe: ivf.model.nprobe,
      sampleRows: ivf.sampleRows,
      kmeansIter: ivf.kmeansIter,
      recall,
      directOverWasm: directMs / exact.ms,
      wasmOverIvf: exact.ms / ivfMs,
      directOverIvf: directMs / ivfMs,
    };
    rows.push(row);
    console.log(
      `n=${n} ${kind.padEnd(7)} direct ${seconds(directMs)} s* | dot ${seconds(dotMs)} s* | wasm ${seconds(exact.ms)} s` +
        ` (${row.directOverWasm.toFixed(1)}x direct) | IVF ${seconds(ivfMs)} s = train ${seconds(ivf.ms.train)}` +
        ` + calibrate ${seconds(ivf.ms.calibrate)} + build ${seconds(ivf.ms.build)} + search ${seconds(ivf.ms.search)}` +
        ` (nlist ${ivf.model.nlist},` +
        ` nprobe ${ivf.model.nprobe}, sample ${ivf.sampleRows}) ${row.wasmOverIvf.toFixed(1)}x wasm,` +
        ` ${row.directOverIvf.toFixed(1)}x direct | recall@${k} ${recall.toFixed(4)}`,
    );
  }
}
console.log(`* scaled from the first ${sampleQueries} query rows`);
const out = join(resolve(import.meta.dirname), 'results', 'knn.json');
await writeFile(out, `${JSON.stringify({ d, k, targetRecall, seed, sampleQueries, rows }, null, 2)}\n`);
console.log(`wrote ${out}`);
