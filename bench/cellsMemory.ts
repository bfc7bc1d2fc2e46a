import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { buildIvfCells } from '../lib/graph/ivf/ivfIndex.ts';
import type { IvfModel } from '../lib/graph/ivf/ivfModel.ts';
import { calibrationPartial } from '../lib/graph/ivf/nprobeCalibration.ts';
import { firstCells, KEPT_NEAREST_CELLS, nearestCells } from '../lib/graph/ivf/probeCells.ts';
import { encodeRows, int16Codes } from '../lib/linalg/int16Codes.ts';
import { type DataKind, syntheticRows } from './syntheticRows.ts';

/**
 * Peak memory of the cells task's compute path on ONE shard, for the model sizes of a small and a large run
 * (issue 16: no task's memory may grow with the corpus beyond what a shard brings). Not a timed test: run it in
 * a fresh process per size, e.g.
 *   node bin/run-ts.mjs bench/cellsMemory.ts --nlist 2000    # the model of a 2M-row run
 *   node bin/run-ts.mjs bench/cellsMemory.ts --nlist 6325    # of a 10M-row run (defaultNlist)
 * Mixture rows (syntheticRows): the shard's rows, the centroids (rows of the same draw: a stand-in for k-means,
 * which at 6,325 cells would take longer than this measures) and the 2,000 calibration queries. Prints the peak
 * RSS before and after the cells path (nearestCells, buildIvfCells, encodeRows, calibrationPartial) and a hash
 * of the calibration lists (the same before and after a change: bit-identical lists).
 */
const { values } = parseArgs({
  options: {
    nlist: { type: 'string', default: '2000' },
    rows: { type: 'string', default: '62500' },
    queries: { type: 'string', default: '2000' },
    d: { type: 'string', default: '64' },
    k: { type: 'string', default: '10' },
    kind: { type: 'string', default: 'mixture' },
  },
});
const nlist = Number(values.nlist);
const rows = Number(values.rows);
const queryCount = Number(values.queries);
const d = Number(values.d);
const k = Number(values.k);

const kind = values.kind as DataKind;
const all = syntheticRows(kind, rows + nlist + queryCount, d, 7);
const X = { data: all.data.subarray(0, rows * d), n: rows, d };
const centroids = Float32Array.from(all.data.subarray(rows * d, (rows + nlist) * d));
const queries = { data: all.data.slice((rows + nlist) * d), n: queryCount, d };
const model: IvfModel = { d, nlist, centroids, nprobe: 1 };
const codes = int16Codes(d, [all.data]);
const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
const before = process.resourceUsage().maxRSS * 1024;

const peaks: Record<string, number> = {};
const peak = (step: string) => {
  peaks[step] = mb(process.resourceUsage().maxRSS * 1024);
};
const started = performance.now();
const nearest = nearestCells(model, X, Math.min(KEPT_NEAREST_CELLS, nlist));
peak('nearestCells');
const assignment = firstCells(nearest);
const built = buildIvfCells(model, X, 0, assignment);
const cells =
  codes === undefined ? built : { ...built, coded: { codes, words: encodeRows(codes, built.vectors, rows) } };
peak('buildIvfCells');
const lists = calibrationPartial(model, queries, X, 0, k, { assignment, cells });
const ms = Math.round(performance.now() - started);
const hash = createHash('sha256')
  .update(new Uint8Array(lists.indices.buffer))
  .update(new Uint8Array(lists.distances.buffer))
  .update(new Uint8Array(lists.cells.buffer))
  .digest('hex')
  .slice(0, 16);
console.log(
  JSON.stringify({
    kind,
    nlist,
    rows,
    queries: queryCount,
    d,
    peakRssBeforeMB: mb(before),
    peakRssMB: mb(process.resourceUsage().maxRSS * 1024),
    peakAfterMB: peaks,
    ms,
    lists: hash,
  }),
);
