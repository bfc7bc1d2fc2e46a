import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { FeatureMatrix } from '../lib/data/featureMatrix.ts';
import { defaultNlist } from '../lib/graph/ivf/ivfModel.ts';
import { calibrationSeed, ivfCalibrationRate, ivfSampleRate, ivfSampleRows } from '../lib/graph/ivf/ivfSample.ts';
import { trainIvf } from '../lib/graph/ivf/ivfTrain.ts';
import { nearestCells } from '../lib/graph/ivf/probeCells.ts';
import { type KnnResult, knnSearch } from '../lib/graph/knnSearch.ts';
import { distanceTiles } from '../lib/linalg/distanceTiles.ts';
import { sfc32 } from './gaussianBlobs.ts';
import { type DataKind, syntheticRows } from './syntheticRows.ts';

/**
 * `node bin/run-ts.mjs bench/indexStudy.ts [--n 100000,1000000] [--data blobs,mixture] [--nlist 1,2,4]
 *  [--queries 1000] [--target 0.955] [--nn-descent 20]`
 *
 * How much of the data an index must look at per query for recall@10 >= --target (the calibration's 0.95 plus
 * its margin), and how that grows with n: the reason approximate search is near-linear on embedding-like data
 * and not on isotropic Gaussian blobs. Exact lists of --queries rows (knnSearch 'wasm') are the reference.
 * - IVF (the product's index): k-means cells as trained by the pipeline (nlist = factor x defaultNlist(n)); a
 *   query probes its nearest cells, and `scanned` is the rows in them, averaged over queries, at the smallest
 *   nprobe reaching the target. `spilled` is the same with every row stored in its two nearest cells.
 * - NN-descent (Dong, Moses & Li, "Efficient k-nearest neighbor graph construction for generic similarity
 *   measures", WWW 2011; full local joins, no sampling) with lists of --nn-descent entries from random
 *   lists, until fewer than 0.1% of the entries change: its recall@10 and distance evaluations per row.
 * Writes bench/results/index-study.json.
 */

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000,1000000' },
    data: { type: 'string', default: 'blobs,mixture' },
    nlist: { type: 'string', default: '1' },
    queries: { type: 'string', default: '1000' },
    target: { type: 'string', default: '0.955' },
    'nn-descent': { type: 'string' },
  },
});
const d = 64;
const k = 10;
const target = Number(values.target);

interface QuerySet {
  readonly rows: Int32Array;
  readonly exact: KnnResult;
  readonly X: FeatureMatrix;
}

function querySet(X: FeatureMatrix, count: number): QuerySet {
  const sample = ivfSampleRows(X, 0, ivfCalibrationRate(X.n, count), calibrationSeed(7));
  return { rows: sample.indices, X: sample.X, exact: knnSearch(sample.X, X, k, { kernel: 'wasm' }) };
}

/** Rows scanned per query at the smallest nprobe reaching the target, rows in their nearest (or two) cells. */
function ivfScanned(X: FeatureMatrix, queries: QuerySet, nlist: number) {
  const sample = ivfSampleRows(X, 0, ivfSampleRate(X.n, nlist), 0);
  const { model } = trainIvf(sample.X, { n: X.n, nlist });
  const two = nearestCells(model, X, 2).cells;
  const stored = new Float64Array(nlist); // rows stored per cell: nearest only
  const spilledStored = new Float64Array(nlist); // nearest and second nearest
  for (let i = 0; i < X.n; i++) {
    stored[two[2 * i]]++;
    spilledStored[two[2 * i]]++;
    spilledStored[two[2 * i + 1]]++;
  }
  const tiles = distanceTiles('wasm', d, queries.X.n, nlist);
  tiles.setReference(model.centroids, 0, nlist);
  tiles.setQuery(queries.X.data, 0, queries.X.n);
  tiles.compute();
  // found[r]: true neighbours first reached at probe rank r; scanned[r]: rows read after r + 1 probes.
  const found = [new Float64Array(nlist), new Float64Array(nlist)];
  const scanned = [new Float64Array(nlist), new Float64Array(nlist)];
  const rank = new Int32Array(nlist);
  for (let q = 0; q < queries.X.n; q++) {
    const row = q * tiles.stride;
    const order = Array.from({ length: nlist }, (_, c) => c).sort((a, b) => tiles.tile[row + a] - tiles.tile[row + b]);
    for (let r = 0; r < nlist; r++) rank[order[r]] = r;
    let rows = 0;
    let spilledRows = 0;
    for (let r = 0; r < nlist; r++) {
      rows += stored[order[r]];
      spilledRows += spilledStored[order[r]];
      scanned[0][r] += rows;
      scanned[1][r] += spilledRows;
    }
    for (let s = q * k; s < (q + 1) * k; s++) {
      const g = queries.exact.indices[s];
      found[0][rank[two[2 * g]]]++;
      found[1][Math.min(rank[two[2 * g]], rank[two[2 * g + 1]])]++;
    }
  }
  const atTarget = (v: 0 | 1) => {
    let acc = 0;
    for (let r = 0; r < nlist; r++) {
      acc += found[v][r];
      if (acc >= target * queries.X.n * k) return { nprobe: r + 1, scanned: Math.round(scanned[v][r] / queries.X.n) };
    }
    return { nprobe: nlist, scanned: Math.round(scanned[v][nlist - 1] / queries.X.n) };
  };
  const plain = atTarget(0);
  return { nlist, ...plain, scannedShare: plain.scanned / X.n, spilled: atTarget(1) };
}

/** NN-descent from random lists of `width`; recall@10 of each row's first 9 entries plus itself. */
function nnDescent(X: FeatureMatrix, queries: QuerySet, width: number) {
  const { n, data } = X;
  const idx = new Int32Array(n * width).fill(-1);
  const dist = new Float64Array(n * width).fill(Number.POSITIVE_INFINITY);
  const fresh = new Uint8Array(n * width);
  let evaluations = 0;
  const distance = (a: number, b: number) => {
    evaluations++;
    let s = 0;
    for (let t = 0; t < d; t++) {
      const x = data[a * d + t] - data[b * d + t];
      s += x * x;
    }
    return s;
  };
  const offer = (i: number, j: number, v: number): number => {
    const base = i * width;
    const last = base + width - 1;
    if (!(v < dist[last])) return 0;
    for (let s = base; s <= last; s++) if (idx[s] === j) return 0;
    let p = last;
    for (; p > base && dist[p - 1] > v; p--) {
      dist[p] = dist[p - 1];
      idx[p] = idx[p - 1];
      fresh[p] = fresh[p - 1];
    }
    dist[p] = v;
    idx[p] = j;
    fresh[p] = 1;
    return 1;
  };
  const random = sfc32(5);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < width; t++) {
      const j = (i + 1 + Math.floor(random() * (n - 1))) % n;
      offer(i, j, distance(i, j));
    }
  }
  let iterations = 0;
  for (let updates = n; updates >= 0.001 * n * width; iterations++) {
    const newer: number[][] = Array.from({ length: n }, () => []);
    const older: number[][] = Array.from({ length: n }, () => []);
    const isNew = fresh.slice();
    fresh.fill(0);
    for (let s = 0; s < n * width; s++) if (idx[s] >= 0) (isNew[s] ? newer : older)[Math.floor(s / width)].push(idx[s]);
    for (let s = 0; s < n * width; s++) {
      const lists = isNew[s] ? newer : older;
      const j = idx[s];
      if (j >= 0 && lists[j].length < 2 * width) lists[j].push(Math.floor(s / width)); // reverse, capped
    }
    updates = 0;
    for (let v = 0; v < n; v++) {
      const a = newer[v];
      for (let x = 0; x < a.length; x++) {
        for (const y of [...a.slice(x + 1), ...older[v]]) {
          if (a[x] === y) continue;
          const l = distance(a[x], y);
          updates += offer(a[x], y, l) + offer(y, a[x], l);
        }
      }
    }
  }
  let hit = 0;
  for (let q = 0; q < queries.rows.length; q++) {
    const truth = new Set(queries.exact.indices.subarray(q * k, (q + 1) * k));
    const g = queries.rows[q];
    hit += truth.has(g) ? 1 : 0;
    for (let s = g * width; s < g * width + k - 1; s++) hit += truth.has(idx[s]) ? 1 : 0;
  }
  return { width, iterations, evaluationsPerRow: Math.round(evaluations / n), recall: hit / (queries.rows.length * k) };
}

const results = [];
for (const kind of values.data.split(',') as DataKind[]) {
  for (const n of values.n.split(',').map(Number)) {
    const X = syntheticRows(kind, n, d, 0);
    const queries = querySet(X, Number(values.queries));
    const ivf = values.nlist.split(',').map((f) => ivfScanned(X, queries, Math.round(Number(f) * defaultNlist(n))));
    const graph = values['nn-descent'] === undefined ? undefined : nnDescent(X, queries, Number(values['nn-descent']));
    const result = { data: kind, n, ivf, nnDescent: graph };
    console.log(JSON.stringify(result));
    results.push(result);
  }
}
const out = resolve(join(import.meta.dirname, 'results', 'index-study.json'));
await writeFile(out, `${JSON.stringify({ date: new Date().toISOString(), target, results }, null, 2)}\n`);
console.log(`results: ${out}`);
